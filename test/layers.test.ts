import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers the folders show: the domain (src/requests) knows no transport, and the job
 * processors (src/jobs) know nothing of Slack. Checked on the code's value imports, followed
 * through every file they reach (type-only imports vanish when compiled, so they are allowed).
 */

const SRC = resolve(import.meta.dirname, "..", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** `{ type A, type B }`: every name imported is a type. */
function onlyTypes(clause: string): boolean {
  const names = /^\{([\s\S]*)\}$/.exec(clause.trim())?.[1];
  if (names === undefined) return false;
  const parts = names
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  return parts.length > 0 && parts.every((n) => n.startsWith("type "));
}

/** The specifiers a file imports at run time (static, re-exports and dynamic). */
function valueImports(code: string): string[] {
  const found: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;]*?)\s+from\s+["']([^"']+)["']/g;
  for (const m of code.matchAll(statement)) {
    if (!m[2] && !onlyTypes(m[3] ?? "")) found.push(m[4] as string);
  }
  for (const m of code.matchAll(/(?:^|\n)\s*import\s+["']([^"']+)["']/g))
    found.push(m[1] as string);
  for (const m of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.push(m[1] as string);
  return found;
}

/** Every file under src/ a file reaches through value imports, and the packages they import. */
function reach(start: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of valueImports(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else if (!spec.startsWith("node:")) packages.set(spec, relative(SRC, file));
    }
  };
  visit(start);
  return { files, packages };
}

function under(folder: string): string[] {
  return sourceFiles(join(SRC, folder));
}

const TRANSPORTS = [/^@slack\//, /^undici$/, /^openid-client$/];

describe("the layers", () => {
  it("src/requests (the domain) reaches no transport: no Slack, undici or openid-client", () => {
    const offending: string[] = [];
    for (const file of under("requests")) {
      for (const [pkg, via] of reach(file).packages) {
        if (TRANSPORTS.some((t) => t.test(pkg))) {
          offending.push(`${relative(SRC, file)} reaches ${pkg} (imported by ${via})`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it("src/jobs reaches nothing in src/slack and no Slack package", () => {
    const offending: string[] = [];
    const slack = join(SRC, "slack");
    for (const file of under("jobs")) {
      const { files, packages } = reach(file);
      for (const reached of files) {
        if (reached.startsWith(slack))
          offending.push(`${relative(SRC, file)} reaches ${relative(SRC, reached)}`);
      }
      for (const pkg of packages.keys()) {
        if (pkg.startsWith("@slack/")) offending.push(`${relative(SRC, file)} reaches ${pkg}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it("the import reader sees what the rules rely on", () => {
    expect(
      valueImports(
        [
          'import { a } from "./a.js";',
          'import type { B } from "./b.js";',
          'import { type C, type D } from "./c.js";',
          'import { type E, f } from "./e.js";',
          'export { g } from "./g.js";',
          'import "./side-effect.js";',
          'const h = await import("./h.js");',
        ].join("\n"),
      ),
    ).toEqual(["./a.js", "./e.js", "./g.js", "./side-effect.js", "./h.js"]);
  });

  it("queue policies (attempts, backoff, locks, retention) are written in one place", () => {
    const policyWords =
      /\b(removeOnComplete|removeOnFail|lockDuration|stalledInterval|maxStalledCount|backoff)\s*:/;
    const elsewhere = sourceFiles(SRC)
      .filter((f) => f !== join(SRC, "jobs", "queues.ts"))
      .filter((f) => policyWords.test(readFileSync(f, "utf8")))
      .map((f) => relative(SRC, f));
    expect(elsewhere).toEqual([]);
  });

  it("no production file is over 400 lines", () => {
    const long = sourceFiles(SRC)
      // Development tooling (emulators, demo, bench) all lives in src/dev and does not ship.
      .filter((f) => !f.startsWith(join(SRC, "dev", "")))
      .map((f) => ({ file: relative(SRC, f), lines: readFileSync(f, "utf8").split("\n").length }))
      .filter((f) => f.lines > 400);
    expect(long).toEqual([]);
  });
});
