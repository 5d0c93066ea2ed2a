import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

/** The bot as a real process (dist/main.js, built by the global setup), for kill and signal tests. */
export interface BotProcess {
  proc: ChildProcess;
  output(): string;
  /** Resolves when a line matching `pattern` has been printed; rejects after timeoutMs. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited(): Promise<number | null>;
}

export async function startBotProcess(
  args: string[],
  env: Record<string, string>,
): Promise<BotProcess> {
  const proc = spawn(process.execPath, [join(process.cwd(), "dist", "main.js"), ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  proc.stdout?.on("data", onData);
  proc.stderr?.on("data", onData);
  const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));

  const bot: BotProcess = {
    proc,
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
          reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const onExit = () => {
          check();
          cleanup();
          reject(new Error(`process exited before printing ${pattern}:\n${out}`));
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
  };
  return bot;
}
