import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const root = join(import.meta.dirname, "..");
const read = (file: string) => readFileSync(join(root, file), "utf8");

// --- docker-compose.yml ----------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  env_file?: string | (string | { path: string })[];
  environment?: Record<string, string | number | null> | string[];
  ports?: (string | number | { target?: number; published?: string | number })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  container_name?: string;
  restart?: string;
  stop_grace_period?: string;
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parseYaml(read("docker-compose.yml")) as Compose;

/** What bot and worker get as REDIS_URL: compose puts .env's REDIS_PASSWORD in it. */
const REDIS_URL_IN_COMPOSE = `redis://:\${REDIS_PASSWORD}@redis:6379`;

function service(name: string): ComposeService {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

const words = (command: string | string[] | undefined) =>
  Array.isArray(command) ? command.map(String) : (command ?? "").split(/\s+/).filter(Boolean);

/** The value that follows `flag` in a command line, e.g. "everysec" after "--appendfsync". */
function flagValue(command: string[], flag: string): string | undefined {
  const i = command.indexOf(flag);
  return i >= 0 ? command[i + 1] : undefined;
}

function environment(s: ComposeService): Record<string, string> {
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(
      s.environment.map((line) => {
        const [k, ...v] = line.split("=");
        return [k as string, v.join("=")];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? "" : String(v)]),
  );
}

function envFiles(s: ComposeService): string[] {
  const files = typeof s.env_file === "string" ? [s.env_file] : (s.env_file ?? []);
  return files.map((f) => (typeof f === "string" ? f : f.path));
}

function dependsOnHealthy(s: ComposeService, on: string): boolean {
  if (Array.isArray(s.depends_on) || !s.depends_on) return false;
  return s.depends_on[on]?.condition === "service_healthy";
}

function buildsFromDockerfile(s: ComposeService): boolean {
  const build = typeof s.build === "string" ? { context: s.build } : s.build;
  if (!build) return false;
  const context = (build.context ?? ".").replace(/\/$/, "") || ".";
  return context === "." && (build.dockerfile ?? "Dockerfile") === "Dockerfile";
}

describe("docker-compose.yml", () => {
  it("runs Redis 7 with AOF (fsync every second), no eviction, data on a named volume", () => {
    const redis = service("redis");
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    const command = words(redis.command);
    expect(command[0]).toBe("redis-server");
    expect(flagValue(command, "--appendonly")).toBe("yes");
    expect(flagValue(command, "--appendfsync")).toBe("everysec");
    expect(flagValue(command, "--maxmemory-policy")).toBe("noeviction");

    const dataVolume = (redis.volumes ?? [])
      .map((v) => (typeof v === "string" ? v.split(":") : [v.source, v.target]))
      .find(([, target]) => target === "/data");
    expect(dataVolume, "a volume mounted at /data").toBeDefined();
    const source = dataVolume?.[0] ?? "";
    // A named volume (declared below), not a host path.
    expect(source).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
    expect(Object.keys(compose.volumes ?? {})).toContain(source);
  });

  it("runs Redis with a password from .env: compose refuses to start without one", () => {
    const redis = service("redis");
    const command = words(redis.command);
    // ${VAR:?message} makes compose stop with the message when VAR is unset or empty.
    expect(flagValue(command, "--requirepass")).toMatch(/^\$\{REDIS_PASSWORD:\?[^}]+\}$/);
    // Reachable only by the services beside it, never published on the host.
    expect(redis.ports ?? []).toEqual([]);
  });

  it("health-checks Redis with the password, and only PONG counts (redis-cli exits 0 on NOAUTH)", () => {
    const redis = service("redis");
    expect(environment(redis).REDISCLI_AUTH).toMatch(/^\$\{REDIS_PASSWORD(:\?[^}]+)?\}$/);
    const test = words(redis.healthcheck?.test as string[] | string);
    expect(test[0]).toBe("CMD-SHELL");
    expect(test.slice(1).join(" ")).toMatch(/^redis-cli ping \| grep -q PONG$/);
  });

  it("runs the bot from this repo's Dockerfile, configured from .env, on port 3000", () => {
    const bot = service("bot");
    expect(buildsFromDockerfile(bot)).toBe(true);
    expect(bot.command).toEqual(["node", "dist/main.js", "--role", "bot"]);
    expect(envFiles(bot)).toContain(".env");
    expect(environment(bot).REDIS_URL).toBe(REDIS_URL_IN_COMPOSE);
    // Only Slack's port is published; /metrics and /readyz are on METRICS_PORT, inside the
    // compose network (a scraper beside it reaches bot:9464), never on the host.
    expect((bot.ports ?? []).map(String)).toEqual(["3000:3000"]);
    expect(environment(bot).METRICS_PORT).toBe("9464");
    expect(environment(bot).METRICS_HOST).toBe("0.0.0.0");
    expect(dependsOnHealthy(bot, "redis")).toBe(true);
    expect(bot.restart).toBe("unless-stopped");
    // The process drains in-flight work on SIGTERM; Docker's default 10 s would cut it short.
    expect(bot.stop_grace_period).toBe("30s");
  });

  it("runs workers from the same Dockerfile that `docker compose up --scale worker=3` can multiply", () => {
    const worker = service("worker");
    expect(buildsFromDockerfile(worker)).toBe(true);
    expect(worker.command).toEqual(["node", "dist/main.js", "--role", "worker"]);
    expect(envFiles(worker)).toContain(".env");
    expect(environment(worker).REDIS_URL).toBe(REDIS_URL_IN_COMPOSE);
    expect(environment(worker).METRICS_PORT).toBe("9464");
    expect(dependsOnHealthy(worker, "redis")).toBe(true);
    expect(worker.restart).toBe("unless-stopped");
    expect(worker.stop_grace_period).toBe("30s");
    // Both would clash between replicas.
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
    // Bot and worker share one image, so a scaled worker runs the same code as the bot.
    expect(worker.image).toBe(service("bot").image);
  });
});

// --- Dockerfile ------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || (!line && !current)) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((current + line).trim());
    current = "";
  }
  if (current.trim()) logical.push(current.trim());
  let stage = -1;
  return logical.map((line) => {
    const [, keyword = "", args = ""] = line.match(/^(\S+)\s*(.*)$/) ?? [];
    if (keyword.toUpperCase() === "FROM") stage++;
    return { keyword: keyword.toUpperCase(), args, stage };
  });
}

const dockerfile = parseDockerfile(read("Dockerfile"));
const froms = dockerfile.filter((i) => i.keyword === "FROM");
const lastStage = froms.length - 1;
const runtime = dockerfile.filter((i) => i.stage === lastStage);
const indexOf = (keyword: string) => runtime.findIndex((i) => i.keyword === keyword);

describe("Dockerfile", () => {
  it("is multi-stage, every stage on Node 24 slim", () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from.args).toMatch(/^node:24(\.\d+)*-slim(@sha256:\w+)?\b/);
  });

  it("builds dist/ in a build stage and copies only dist/ out of it", () => {
    const build = dockerfile.filter((i) => i.stage < lastStage && i.keyword === "RUN");
    expect(build.some((i) => /\bnpm ci\b/.test(i.args))).toBe(true);
    expect(build.some((i) => /\bnpm run build\b/.test(i.args))).toBe(true);
    const fromBuild = runtime.filter((i) => i.keyword === "COPY" && /--from=/.test(i.args));
    expect(fromBuild.map((i) => i.args.replace(/--from=\S+\s+/, ""))).toEqual([
      expect.stringMatching(/^\S*dist\/?\s/),
    ]);
  });

  it("leaves dist/dev (emulators, demo, bench) out of the runtime image", () => {
    // The shell commands of the build stages, in order: "a && b; c" is three.
    const commands = dockerfile
      .filter((i) => i.stage < lastStage && i.keyword === "RUN")
      .flatMap((i) => i.args.split(/&&|;/).map((c) => c.trim()));
    const lastBuild = commands.findLastIndex((c) => /\bnpm run build\b/.test(c));
    expect(lastBuild).toBeGreaterThanOrEqual(0);
    // Removed after the last build, before the runtime stage copies dist/ out.
    expect(
      commands.slice(lastBuild + 1).some((c) => /^rm\s+-(rf|fr)\s+(\.\/)?dist\/dev\/?$/.test(c)),
    ).toBe(true);
    // And the runtime stage neither builds nor gets sources to build from.
    expect(runtime.some((i) => /\b(npm run build|tsc)\b/.test(i.args))).toBe(false);
    expect(runtime.some((i) => i.keyword === "COPY" && /(^|\s)\.?\/?src\b/.test(i.args))).toBe(
      false,
    );
  });

  it("installs production dependencies only in the runtime image, without running scripts", () => {
    const installs = runtime.filter(
      (i) => i.keyword === "RUN" && /\bnpm (ci|install|i)\b/.test(i.args),
    );
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) {
      expect(install.args).toMatch(/--omit=dev\b/);
      // "prepare" would run tsc, a dev dependency that is not there.
      expect(install.args).toMatch(/--ignore-scripts\b/);
    }
    expect(runtime.some((i) => i.keyword === "ENV" && /\bNODE_ENV=production\b/.test(i.args))).toBe(
      true,
    );
  });

  it("runs node with the same memory flags as npm start and npm run bench", () => {
    const start = (JSON.parse(read("package.json")) as { scripts: { start: string } }).scripts
      .start;
    const flags = /^node (.*) dist\/main\.js$/.exec(start)?.[1];
    expect(flags).toMatch(/--max-old-space-size=\d+/);
    expect(read("Dockerfile")).toContain(`ENV NODE_OPTIONS="${flags}"`);
    expect(read("src/dev/bench/config.ts")).toContain(`"${flags}"`);
  });

  it("runs as the unprivileged node user, set before CMD", () => {
    const users = runtime.filter((i) => i.keyword === "USER");
    expect(users.at(-1)?.args).toBe("node");
    expect(indexOf("USER")).toBeGreaterThanOrEqual(0);
    expect(runtime.findLastIndex((i) => i.keyword === "USER")).toBeLessThan(indexOf("CMD"));
  });

  it("exposes 3000 and health-checks GET /healthz with node itself (slim images have no curl)", () => {
    expect(runtime.some((i) => i.keyword === "EXPOSE" && /\b3000\b/.test(i.args))).toBe(true);
    const healthcheck = runtime.find((i) => i.keyword === "HEALTHCHECK");
    expect(healthcheck?.args).toMatch(/\bCMD\s+node\b/);
    expect(healthcheck?.args).toContain("/healthz");
    expect(healthcheck?.args).toContain("process.env.PORT");
    expect(healthcheck?.args).not.toMatch(/\b(curl|wget)\b/);
  });

  it("starts node directly (exec form), never npm, so SIGTERM reaches the process", () => {
    const cmds = runtime.filter((i) => i.keyword === "CMD");
    expect(cmds).toHaveLength(1);
    const cmd = JSON.parse(cmds[0]?.args ?? "null") as string[];
    expect(cmd).toEqual(["node", "dist/main.js"]);
    expect(runtime.some((i) => i.keyword === "ENTRYPOINT")).toBe(false);
    // What it runs is what the build produces.
    expect(existsSync(join(root, "src", "main.ts"))).toBe(true);
  });

  it("copies only files that exist and that .dockerignore lets through", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    expect(ignored).toEqual(
      expect.arrayContaining(["node_modules", "dist", ".env", ".data", ".git", "coverage"]),
    );
    const sources = dockerfile
      .filter((i) => i.keyword === "COPY" && !/--from=/.test(i.args))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(root, source)), `${source} exists`).toBe(true);
      expect(ignored, `${source} is not in .dockerignore`).not.toContain(source);
    }
  });
});

// --- .env.example ----------------------------------------------------------------------------

/** The top-level keys of `const envSchema = z.object({ ... })` in src/config.ts. */
function configVariables(): string[] {
  const source = read("src/config.ts");
  const start = source.search(/const envSchema\s*=\s*z\s*\.object\(\s*\{/);
  expect(start, "src/config.ts defines envSchema = z.object({...})").toBeGreaterThanOrEqual(0);
  const open = source.indexOf("{", start);
  // Keep only the text at the object's own depth, skipping strings, so keys inside nested
  // calls, regular expressions or messages are not mistaken for variables.
  let depth = 0;
  let topLevel = "";
  for (let i = open; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === "\\" ? 2 : 1;
      i = j;
      continue;
    }
    if ("({[".includes(c)) depth++;
    else if (")}]".includes(c)) {
      depth--;
      if (depth === 0) break;
    } else if (depth === 1) topLevel += c;
  }
  return [...topLevel.matchAll(/(?:^|[\s,])([A-Z][A-Z0-9_]*)\s*:/g)].map((m) => m[1] as string);
}

/** Variables .env.example sets or shows commented out (`NAME=` or `# NAME=`). */
function exampleVariables(): string[] {
  return [...read(".env.example").matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(
    (m) => m[1] as string,
  );
}

/** Variables docker-compose.yml interpolates (`${NAME}`, `${NAME:?message}`) from .env. */
function composeVariables(): string[] {
  const names = [...read("docker-compose.yml").matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)];
  return [...new Set(names.map((m) => m[1] as string))];
}

/** Variables read straight from process.env anywhere under src/ (ROLE, for example). */
function processEnvReads(dir = join(root, "src")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return processEnvReads(path);
    if (!entry.name.endsWith(".ts")) return [];
    return [...readFileSync(path, "utf8").matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)].map(
      (m) => m[1] as string,
    );
  });
}

describe(".env.example", () => {
  it("lists every variable src/config.ts reads", () => {
    const variables = configVariables();
    // Guards the scan itself.
    expect(variables).toEqual(
      expect.arrayContaining(["SLACK_BOT_TOKEN", "AUTH0_DOMAIN", "REDIS_URL", "PORT"]),
    );
    const listed = new Set(exampleVariables());
    expect(
      variables.filter((v) => !listed.has(v)),
      "add a line (NAME= or # NAME=default) with a comment for each to .env.example",
    ).toEqual([]);
  });

  it("lists nothing that neither the code nor docker-compose.yml reads", () => {
    const known = new Set([...configVariables(), ...processEnvReads(), ...composeVariables()]);
    expect(exampleVariables().filter((v) => !known.has(v))).toEqual([]);
  });

  it("lists every variable docker-compose.yml takes from .env", () => {
    const listed = new Set(exampleVariables());
    expect(composeVariables()).toContain("REDIS_PASSWORD");
    expect(composeVariables().filter((v) => !listed.has(v))).toEqual([]);
  });
});
