import { readdirSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const src = join(root, "src");
const dev = join(src, "dev");

/**
 * What a source file loads, as written: static imports and re-exports (`import … from "x"`,
 * `export … from "x"`, `import "x"`), dynamic `import(…)`, and `new URL("x", import.meta.url)`
 * (how a worker thread or a script to spawn is found). A dynamic import of anything but a
 * string literal is returned as `import(<expression>)`: it cannot be checked.
 */
function loads(source: string): string[] {
  const found: string[] = [];
  const quoted = `["'\`]([^"'\`]+)["'\`]`;
  const patterns = [
    new RegExp(`\\bfrom\\s*${quoted}`, "g"),
    new RegExp(`\\bimport\\s*${quoted}`, "g"),
    new RegExp(`\\bimport\\s*\\(\\s*${quoted}\\s*[,)]`, "g"),
    new RegExp(`\\bnew\\s+URL\\s*\\(\\s*${quoted}\\s*,\\s*import\\.meta\\.url`, "g"),
  ];
  for (const pattern of patterns) {
    for (const m of source.matchAll(pattern)) found.push(m[1] as string);
  }
  for (const m of source.matchAll(/\bimport\s*\(\s*([^"'`\s)][^)]*)\)/g)) {
    found.push(`import(${m[1]})`);
  }
  return found;
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Whether `specifier`, loaded from `file`, is (or may be) development tooling. */
function reachesDev(file: string, specifier: string): boolean {
  if (specifier.startsWith("import(")) return true;
  if (specifier.startsWith(".")) return isInside(resolve(dirname(file), specifier), dev);
  return /(^|\/)(src|dist)\/dev(\/|$)/.test(specifier);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mts|cts|js|mjs|cjs)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** `file: specifier` for every load of src/dev by a file under src/ outside src/dev. */
function devLoadsOutsideDev(files: string[], read: (file: string) => string): string[] {
  return files
    .filter((file) => !isInside(file, dev))
    .flatMap((file) =>
      loads(read(file))
        .filter((specifier) => reachesDev(file, specifier))
        .map((specifier) => `${relative(root, file)}: ${specifier}`),
    );
}

describe("development tooling (src/dev) stays apart from the code that ships", () => {
  it("no file under src/ outside src/dev loads anything from src/dev", () => {
    const files = sourceFiles(src);
    // Guards the scan itself: it sees the bot's files and knows what they load.
    expect(files.map((f) => relative(root, f))).toEqual(
      expect.arrayContaining(["src/main.ts", "src/config.ts", "src/dev/demo/main.ts"]),
    );
    expect(loads(readFileSync(join(src, "main.ts"), "utf8"))).toEqual(
      expect.arrayContaining(["./config.js", "../.data/redis"]),
    );
    expect(
      devLoadsOutsideDev(files, (f) => readFileSync(f, "utf8")),
      "production code must not import the emulators, the harness, the demo or the bench",
    ).toEqual([]);
  });

  it("the rule has teeth: every way of loading a module is caught", () => {
    const file = join(src, "slack", "example.ts");
    const source = `
      import { startSlackEmulator } from "../dev/emulators/slack/index.js";
      import type { Auth0Emulator } from '../dev/emulators/auth0/index.js';
      import {
        renderMessage,
      } from "../dev/render.js";
      export * from "../dev/harness/poll.js";
      import "../dev/bench/config.js";
      const demo = await import("../dev/demo/story.js");
      const worker = new Worker(new URL("../dev/bench/emulator-thread.js", import.meta.url));
      const anything = await import(pathFromSomewhere);
      import { loadConfig } from "../config.js";
      import { Redis } from "ioredis";
      const data = new URL("../../.data/redis", import.meta.url);
    `;
    expect(devLoadsOutsideDev([file], () => source)).toEqual([
      "src/slack/example.ts: ../dev/emulators/slack/index.js",
      "src/slack/example.ts: ../dev/emulators/auth0/index.js",
      "src/slack/example.ts: ../dev/render.js",
      "src/slack/example.ts: ../dev/harness/poll.js",
      "src/slack/example.ts: ../dev/bench/config.js",
      "src/slack/example.ts: ../dev/demo/story.js",
      "src/slack/example.ts: ../dev/bench/emulator-thread.js",
      "src/slack/example.ts: import(pathFromSomewhere)",
    ]);
    // Inside src/dev, anything goes.
    expect(devLoadsOutsideDev([join(dev, "demo", "x.ts")], () => source)).toEqual([]);
  });
});
