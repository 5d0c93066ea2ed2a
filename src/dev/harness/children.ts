/**
 * Child processes of node: the bot as production runs it (`node dist/main.js`), for the tests
 * that kill it or signal it and for the bench, which measures it from outside.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The built bot, dist/main.js. Found from this file, which sits three folders below the
 * repository's root whether it runs compiled (dist/dev/harness) or from source (src/dev/harness).
 */
export const DIST_MAIN = fileURLToPath(new URL("../../../dist/main.js", import.meta.url));

export interface NodeChild {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** What it printed on stdout and stderr, interleaved (the tail only, with `keepOutput`). */
  output(): string;
  /** Resolves with the first line matching `pattern`; rejects after timeoutMs or at its exit. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (null when a signal ended it). */
  exited(): Promise<number | null>;
  /** SIGTERM, then SIGKILL if it is still there after `killAfterMs` (default 30 s). */
  stop(killAfterMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** The whole environment, besides PATH: nothing else of ours leaks into the child. */
  env?: Record<string, string>;
  cwd?: string;
  /** Keep only the last this many characters of output (default: all of it). */
  keepOutput?: number;
}

/** `node ...args`, its output captured. */
export function spawnNode(name: string, args: string[], options: SpawnOptions = {}): NodeChild {
  const proc = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", ...options.env },
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = options.keepOutput ?? Number.POSITIVE_INFINITY;
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > keep) out = out.slice(-keep);
    for (const l of listeners) l();
  };
  proc.stdout?.on("data", onData);
  proc.stderr?.on("data", onData);
  const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const isRunning = () => proc.exitCode === null && proc.signalCode === null;

  return {
    name,
    proc,
    pid: proc.pid ?? 0,
    output: () => out,
    waitForOutput(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = out.split("\n").find((l) => pattern.test(l));
          if (line !== undefined) {
            cleanup();
            resolve(line);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`${name}: no output matching ${pattern} within ${timeoutMs} ms:\n${out}`),
          );
        }, timeoutMs);
        const onExit = () => {
          check();
          cleanup();
          reject(new Error(`${name} exited before printing ${pattern}:\n${out}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          proc.off("exit", onExit);
        };
        listeners.add(check);
        proc.once("exit", onExit);
        check();
      });
    },
    exited: () => exit,
    async stop(killAfterMs = 30_000) {
      if (!isRunning()) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), killAfterMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/**
 * The children of a command-line run (the bench): each tracked until it exits, so that whatever
 * ends the run, none is left behind.
 */
export class ChildGroup {
  private readonly running = new Set<NodeChild>();

  constructor() {
    process.once("exit", () => this.killAll());
  }

  spawn(name: string, args: string[], options?: SpawnOptions): NodeChild {
    const child = spawnNode(name, args, options);
    this.running.add(child);
    void child.exited().then(() => this.running.delete(child));
    return child;
  }

  /** Those that have not exited yet. */
  list(): NodeChild[] {
    return [...this.running];
  }

  /** SIGKILL to every one still running, at once. */
  killAll(): void {
    for (const child of this.running) child.proc.kill("SIGKILL");
  }

  /** Stops them one after another (SIGTERM, then SIGKILL after 30 s). */
  async stopAll(): Promise<void> {
    for (const child of this.list()) await child.stop();
  }
}
