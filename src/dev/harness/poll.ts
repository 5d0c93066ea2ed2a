/**
 * Waiting by polling with a deadline: how the emulators, the demo, the bench and the tests wait
 * for something to happen, instead of sleeping a fixed time and hoping.
 */

export interface PollOptions {
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Default 10 ms. */
  everyMs?: number;
  /** The error to reject with at the deadline; built then, so it can say what was seen. */
  timedOut: (timeoutMs: number) => Error;
}

/**
 * Calls `check` now and every `everyMs` until it returns something other than undefined, null
 * or false, and resolves with that. Rejects with `timedOut(timeoutMs)` once the deadline has
 * passed, or with whatever `check` throws.
 */
export async function pollUntil<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: PollOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (performance.now() >= deadline) throw options.timedOut(timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 10));
  }
}

/**
 * An emulator's `waitFor`: polls `predicate` (every ~10 ms) until it returns a value, or rejects
 * after timeoutMs (default 5000) with a message naming `what` and what the emulator saw.
 */
export type WaitFor = <T>(
  predicate: () => T | undefined | null | false,
  opts?: { timeoutMs?: number; what?: string },
) => Promise<T>;
