import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort as freeAnyPort } from "../../src/net.js";

/** A free port on 127.0.0.1 (see src/net.ts). */
export async function freePort(): Promise<number> {
  const port = await freeAnyPort();
  if (port === undefined) throw new Error("no free TCP port on 127.0.0.1");
  return port;
}

export interface RedisServer {
  port: number;
  url: string;
  /** SIGTERM, wait for the exit, remove its data directory. */
  stop(): Promise<void>;
}

const MISSING =
  "redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server; " +
  "macOS: brew install redis) or set REDIS_URL to a Redis you can use for tests.";

/**
 * A throwaway redis-server on a free loopback port with its own data directory, configured by
 * `args` (eviction policy, persistence…). Resolves once it accepts connections.
 */
export async function startRedisServer(args: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "promote-connection-redis-"));
  const proc: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  let spawnError: NodeJS.ErrnoException | undefined;
  proc.once("error", (err: NodeJS.ErrnoException) => {
    spawnError = err;
  });
  proc.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const started = Date.now();
  while (!output.includes("Ready to accept connections")) {
    if (spawnError || proc.exitCode !== null || Date.now() - started > 10_000) {
      rmSync(dir, { recursive: true, force: true });
      if (spawnError?.code === "ENOENT") throw new Error(MISSING);
      throw new Error(
        `redis-server ${args.join(" ")} did not start:\n${spawnError?.message ?? output}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
