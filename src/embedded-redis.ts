import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import type { Logger } from "./log.js";
import { freePort } from "./net.js";

export interface EmbeddedRedisOptions {
  /** Where the append-only file lives; created if missing. */
  dataDir: string;
  logger: Logger;
  /** Port to listen on. Default: 6379 if free, else any free port. */
  port?: number;
  /** The executable, looked up on PATH unless it is a path. Default `redis-server`. */
  bin?: string;
  /** How long redis-server may take to say it is ready. Default 10 s. */
  readyTimeoutMs?: number;
}

export interface EmbeddedRedis {
  /** redis://:PASSWORD@127.0.0.1:PORT, the password generated at start: never print it. */
  url: string;
  /** Sends SIGTERM (Redis flushes the AOF and exits) and resolves once the process is gone. */
  stop(): Promise<void>;
}

const READY = "Ready to accept connections";
const DEFAULT_PORT = 6379;
const LOCK_FILE = "embedded-redis.lock";

/** Thrown when there is no redis-server to run; its message says what to do. */
export class RedisServerNotFoundError extends Error {
  constructor(bin: string) {
    super(
      `${bin} was not found on PATH, and REDIS_URL is not set. Install Redis 7 ` +
        "(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) " +
        "so that npm start can run it, or set REDIS_URL to a Redis you run yourself " +
        "(e.g. REDIS_URL=redis://127.0.0.1:6379 in .env).",
    );
    this.name = "RedisServerNotFoundError";
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of `bin` in the directories of PATH, like `command -v`, or undefined. */
export function findOnPath(bin: string, pathEnv = process.env.PATH ?? ""): string | undefined {
  if (bin.includes("/")) return isExecutableFile(bin) ? resolve(bin) : undefined;
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, bin);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function pickPort(): Promise<number> {
  const preferred = await freePort(DEFAULT_PORT);
  if (preferred !== undefined) return preferred;
  const any = await freePort();
  if (any === undefined) throw new Error("no free TCP port on 127.0.0.1 for the embedded Redis");
  return any;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

interface LockContent {
  pid: number;
  port?: number;
  /** With the password: the lock file is readable by its owner only. */
  url?: string;
}

/** Where the embedded Redis listens, fit to print: without the password. */
const printable = (port: number) => `redis://127.0.0.1:${port}`;

/**
 * Two redis-servers appending to one AOF directory corrupt it, e.g. `npm start -- --role bot`
 * and `npm start -- --role worker` in two terminals. The lock file names whoever owns the
 * directory, so the second one is told to share the first's Redis instead.
 */
function acquireLock(lockPath: string, dataDir: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid } satisfies LockContent));
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder: LockContent | undefined;
    try {
      holder = JSON.parse(readFileSync(lockPath, "utf8")) as LockContent;
    } catch {
      holder = undefined;
    }
    if (holder && Number.isInteger(holder.pid) && isAlive(holder.pid)) {
      const where = holder.port ? ` at ${printable(holder.port)}` : "";
      // The URL carries the password, so it is pointed at, never printed.
      const share = holder.url ? `to share it, set REDIS_URL to the "url" in ${lockPath}` : "";
      throw new Error(
        `another embedded Redis (pid ${holder.pid}) is already using ${dataDir}${where}; ` +
          `${share ? `${share}, or ` : ""}stop that process first`,
      );
    }
    // Left behind by a process that died without cleaning up.
    rmSync(lockPath, { force: true });
  }
  throw new Error(`could not lock ${lockPath}`);
}

/** Keeps the last few KB of what redis-server printed, for error messages. */
function outputTail(child: ChildProcess, logger: Logger): () => string {
  let tail = "";
  const onChunk = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8192);
    // Reading the pipes for as long as the process lives also keeps redis-server from blocking
    // on a full pipe.
    for (const line of chunk.toString().split("\n")) {
      if (line.trim()) logger.debug({ redis: line.trim() }, "embedded Redis");
    }
  };
  child.stdout?.on("data", onChunk);
  child.stderr?.on("data", onChunk);
  return () => tail;
}

function waitForReady(child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolveReady, rejectReady) => {
    const onData = () => {
      if (output().includes(READY)) finish();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(
        new Error(
          `redis-server exited (${signal ?? `code ${code}`}) before it was ready:\n${output()}`,
        ),
      );
    const onError = (err: Error) => finish(err);
    const timer = setTimeout(
      () => finish(new Error(`redis-server was not ready within ${timeoutMs} ms:\n${output()}`)),
      timeoutMs,
    );
    function finish(err?: Error) {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
      if (err) rejectReady(err);
      else resolveReady();
    }
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
    onData();
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((done) => {
    // A Redis that ignores SIGTERM for this long is stuck; the AOF is fsync'd every second anyway.
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
  });
}

/**
 * The settings redis-server reads from its standard input: the password never appears among its
 * arguments, which any local user can read with `ps`. Redis's own process title is off, so `ps`
 * shows the real arguments rather than a title written over them.
 */
function secretConfig(password: string): string {
  return `requirepass ${password}\nset-proc-title no\n`;
}

/**
 * Runs a private redis-server for `npm start` when REDIS_URL is not set: loopback only, a
 * password generated at each start (anything else on the machine, a browser tricked into
 * talking to 127.0.0.1 included, is refused), data in an append-only file under `dataDir`
 * (fsync every second, the directory readable by its owner only), no eviction, so requests and
 * queued promotions survive a restart as they would on a real Redis.
 */
export async function startEmbeddedRedis(opts: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const { logger } = opts;
  const bin = opts.bin ?? "redis-server";
  const executable = findOnPath(bin);
  if (!executable) throw new RedisServerNotFoundError(bin);

  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Made before this rule, or by someone else's umask: the data is nobody else's to read.
  chmodSync(dataDir, 0o700);
  const lockPath = join(dataDir, LOCK_FILE);
  acquireLock(lockPath, dataDir);

  try {
    // Another program may take the port between the check and redis-server's bind: try again
    // on a fresh port, unless the caller asked for this one.
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await pickPort());
      const password = randomBytes(32).toString("hex");
      const child = spawn(
        executable,
        [
          // "-": the rest of the configuration comes on standard input.
          "-",
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          dataDir,
          "--appendonly",
          "yes",
          "--appendfsync",
          "everysec",
          "--maxmemory-policy",
          "noeviction",
          "--save",
          "",
        ],
        // Own process group: Ctrl-C in a terminal reaches node, which drains its work before
        // stopping Redis, instead of reaching both at once.
        { stdio: ["pipe", "pipe", "pipe"], detached: true },
      );
      // A redis-server that exits at once closes its end first; waitForReady reports why.
      child.stdin?.on("error", () => {});
      child.stdin?.end(secretConfig(password));
      const output = outputTail(child, logger);
      try {
        await waitForReady(child, output, opts.readyTimeoutMs ?? 10_000);
      } catch (err) {
        if (!exited(child)) {
          child.kill("SIGKILL");
          await waitForExit(child, 5_000);
        }
        if (opts.port === undefined && attempt < 3 && /Address already in use/i.test(output())) {
          continue;
        }
        throw err;
      }
      return running(child, { port, password }, dataDir, lockPath, logger);
    }
  } catch (err) {
    rmSync(lockPath, { force: true });
    throw err;
  }
}

function running(
  child: ChildProcess,
  { port, password }: { port: number; password: string },
  dataDir: string,
  lockPath: string,
  logger: Logger,
): EmbeddedRedis {
  const url = printable(port);
  const lock: LockContent = {
    pid: child.pid ?? process.pid,
    port,
    url: `redis://:${password}@127.0.0.1:${port}`,
  };
  writeFileSync(lockPath, JSON.stringify(lock), { mode: 0o600 });

  let stopping = false;
  // If node exits without stop() (an uncaught error, process.exit elsewhere), Redis still gets
  // its SIGTERM, and shuts down cleanly on its own.
  const onProcessExit = () => {
    if (!exited(child)) child.kill("SIGTERM");
    rmSync(lockPath, { force: true });
  };
  process.once("exit", onProcessExit);
  child.once("exit", (code, signal) => {
    if (!stopping) {
      logger.error(
        { code, signal },
        `embedded Redis at ${url} exited unexpectedly; restart promote-connection`,
      );
    }
  });

  logger.info(
    { dataDir },
    `started embedded Redis at ${url} (password required; data in ${dataDir})`,
  );

  let stopped: Promise<void> | undefined;
  return {
    url: lock.url as string,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        process.off("exit", onProcessExit);
        if (!exited(child)) child.kill("SIGTERM");
        await waitForExit(child, 10_000);
        rmSync(lockPath, { force: true });
        logger.info(`stopped embedded Redis at ${url}`);
      })();
      return stopped;
    },
  };
}
