/**
 * Redis for the tests, the demo and the bench: a throwaway redis-server on a free port, or the
 * one REDIS_URL names (the run's keys removed afterwards), or the embedded one `npm start` runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisServerNotFoundError, startEmbeddedRedis } from "../../embedded-redis.js";
import { createLogger } from "../../log.js";
import { createRedisClient, scanKeys, singleNodeSettings } from "../../redis.js";
import type { Cleanup } from "./cleanup.js";
import { pollUntil } from "./poll.js";
import { freeLoopbackPort } from "./ports.js";

export interface RedisServer {
  port: number;
  url: string;
  /** SIGTERM, wait for the exit, remove its data directory. */
  stop(): Promise<void>;
}

const MISSING =
  "redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server; " +
  "macOS: brew install redis) or set REDIS_URL to a Redis you can use for tests.";

export interface RedisServerOptions {
  /** The port to listen on: a free one by default; 0 for none (a TLS-only server). */
  port?: number;
  /** A config file read before the arguments (a Sentinel needs one it can rewrite). */
  configFile?: string;
  /** What it logs once it takes connections; redis-server's "Ready to accept connections". */
  readyLine?: string;
}

/**
 * A throwaway redis-server on a free loopback port with its own data directory, configured by
 * `args` (eviction policy, persistence, TLS, `--sentinel`…). Resolves once it accepts connections.
 */
export async function startRedisServer(
  args: string[] = [],
  options: RedisServerOptions = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freeLoopbackPort());
  const dir = mkdtempSync(join(tmpdir(), "promote-connection-redis-"));
  const readyLine = options.readyLine ?? "Ready to accept connections";
  const proc: ChildProcess = spawn(
    "redis-server",
    [
      ...(options.configFile ? [options.configFile] : []),
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...args],
    ],
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
  const started = await pollUntil(
    () => (spawnError || proc.exitCode !== null ? "exited" : output.includes(readyLine) && "ready"),
    { timeoutMs: 10_000, everyMs: 20, timedOut: () => new Error("not ready in time") },
  ).catch(() => "timed out");
  if (started !== "ready") {
    rmSync(dir, { recursive: true, force: true });
    if (spawnError?.code === "ENOENT") throw new Error(MISSING);
    throw new Error(
      `redis-server ${args.join(" ")} did not start:\n${spawnError?.message ?? output}`,
    );
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

/** Deletes every key under `prefix:` from the Redis at `url`. */
export async function removeKeys(url: string, prefix: string): Promise<void> {
  const redis = createRedisClient(
    singleNodeSettings(url, prefix),
    "promote-connection:dev-cleanup",
  );
  try {
    for await (const keys of scanKeys(redis, `${prefix}:*`)) await redis.unlink(...keys);
  } finally {
    redis.disconnect();
  }
}

export interface RunRedis {
  url: string;
  /** Where the throwaway redis-server keeps its data; undefined when REDIS_URL is used. */
  dataDir?: string;
}

/**
 * Redis for a demo or bench run. With REDIS_URL set, that one: the run writes keys under
 * `prefix` only, and they are removed at clean-up. Otherwise a throwaway redis-server started as
 * `npm start` starts its own (embedded-redis.ts: append-only, fsync every second) on a free
 * port, its data in a temporary directory; both are gone after clean-up. With neither, throws
 * `whenMissing`, which should say what to install or set.
 */
export async function redisForRun(options: {
  prefix: string;
  cleanup: Cleanup;
  /** Of the temporary directory's name. */
  tempPrefix: string;
  whenMissing: string;
}): Promise<RunRedis> {
  const { cleanup, prefix } = options;
  const external = process.env.REDIS_URL?.trim() || undefined;
  if (external) {
    cleanup.add(`removing the Redis keys under ${prefix}:`, () => removeKeys(external, prefix));
    return { url: external };
  }
  const dataDir = cleanup.tempDir(options.tempPrefix);
  try {
    const redis = await startEmbeddedRedis({
      dataDir,
      port: await freeLoopbackPort(),
      logger: createLogger({ level: "silent" }),
    });
    cleanup.add("stopping the throwaway redis-server", () => redis.stop());
    return { url: redis.url, dataDir };
  } catch (err) {
    if (err instanceof RedisServerNotFoundError) throw new Error(options.whenMissing);
    throw err;
  }
}
