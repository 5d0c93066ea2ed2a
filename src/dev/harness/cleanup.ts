/**
 * How a command-line run (the demo, the bench) ends cleanly however it ends: clean-up steps
 * registered as things start, and a guard that stops the run at a deadline or on Ctrl-C.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildGroup } from "./children.js";

/**
 * Clean-up steps, run in reverse order of adding (the last thing started is the first stopped),
 * each whatever the others did.
 */
export class Cleanup {
  private readonly steps: Array<{ what: string; run: () => unknown }> = [];
  private ran: Promise<string[]> | undefined;

  /** `what` names the step in a problem line, e.g. "stopping the bot". */
  add(what: string, run: () => unknown): void {
    this.steps.push({ what, run });
  }

  /** A new temporary directory, removed at clean-up. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.add("removing the temporary directory", () =>
      rmSync(dir, { recursive: true, force: true }),
    );
    return dir;
  }

  /**
   * Runs the steps, once: a second call shares the first's result. Resolves with the problems,
   * one line each ("stopping the bot: <message>"); never rejects.
   */
  run(): Promise<string[]> {
    this.ran ??= (async () => {
      const problems: string[] = [];
      // Popped, not iterated: a step added while the clean-up runs is run too.
      for (let step = this.steps.pop(); step; step = this.steps.pop()) {
        try {
          await step.run();
        } catch (err) {
          problems.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      return problems;
    })();
    return this.ran;
  }
}

export interface ExitGuardOptions {
  cleanup: Cleanup;
  deadlineMs: number;
  /** Said on stderr when the deadline passes, e.g. "The demo did not finish within 90 s". */
  deadlineMessage: string;
  /** What stops, as in "Interrupted (SIGINT); stopping the demo." */
  noun: string;
  /** Killed at once (SIGKILL), before the clean-up. */
  children?: ChildGroup;
  /** How long the clean-up may take before the process exits anyway. Default 10 s. */
  graceMs?: number;
}

/**
 * Ends a run that passes its deadline (exit 1) or is interrupted by SIGINT or SIGTERM (exit 130):
 * says why on stderr, kills the children, runs the clean-up (bounded: a step that hangs does not
 * keep the process alive) and exits. Returns the function that disarms the deadline.
 */
export function exitOnDeadlineOrSignal(options: ExitGuardOptions): () => void {
  const abandon = (why: string, code: number) => {
    process.stderr.write(`\n${why}; stopping ${options.noun}.\n`);
    options.children?.killAll();
    setTimeout(() => process.exit(code), options.graceMs ?? 10_000).unref();
    void options.cleanup.run().then(() => process.exit(code));
  };
  const deadline = setTimeout(() => abandon(options.deadlineMessage, 1), options.deadlineMs);
  deadline.unref();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => abandon(`Interrupted (${signal})`, 130));
  }
  return () => clearTimeout(deadline);
}
