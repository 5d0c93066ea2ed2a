import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForRedis(proc: ChildProcess, deadlineMs: number): Promise<void> {
  let output = "";
  proc.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const started = Date.now();
  while (Date.now() - started < deadlineMs) {
    if (output.includes("Ready to accept connections")) return;
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server did not start:\n${output}`);
}

/** Tests that run the bot as a child process (kill -9, SIGTERM) run the built dist/main.js. */
function buildDist(): void {
  const tsc = join(process.cwd(), "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`building dist/ failed:\n${result.stdout}${result.stderr}`);
  }
}

let redis: ChildProcess | undefined;
let dataDir: string | undefined;

/**
 * Starts a throwaway redis-server on a free loopback port for the whole test run, unless
 * REDIS_URL already points at one. Tests read the URL with inject("redisUrl").
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  buildDist();
  if (process.env.REDIS_URL) {
    project.provide("redisUrl", process.env.REDIS_URL);
    return async () => {};
  }
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), "promote-connection-redis-"));
  redis = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dataDir,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const spawnError = new Promise<never>((_, reject) => {
    redis?.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "ENOENT"
          ? new Error(
              "redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server; " +
                "macOS: brew install redis) or set REDIS_URL to a Redis you can use for tests.",
            )
          : err,
      );
    });
  });
  await Promise.race([waitForRedis(redis, 10_000), spawnError]);
  project.provide("redisUrl", `redis://127.0.0.1:${port}`);
  return async () => {
    redis?.kill("SIGTERM");
    await new Promise((r) => redis?.once("exit", r));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}
