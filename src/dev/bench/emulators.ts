/**
 * The bench's side of the emulator thread (emulator-thread.ts): each {@link EmulatorCall} posted
 * gets one answer, so the thread is called like an async function.
 */
import { Worker } from "node:worker_threads";
import type { EmulatorAnswer, EmulatorCall } from "./emulator-thread.js";

/** Epoch milliseconds, sub-millisecond: what both threads read, and the emulators record. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

export class Emulators {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  /** Emulator clock minus ours (epoch ms); measured by calibrate(). */
  offsetMs = 0;

  constructor() {
    this.worker = new Worker(new URL("./emulator-thread.js", import.meta.url));
    this.worker.on("message", (answer: EmulatorAnswer) => {
      const waiter = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (answer.ok) waiter?.resolve(answer.value);
      else waiter?.reject(new Error(`emulator: ${answer.error}`));
    });
    this.worker.on("error", (err) => {
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    });
  }

  call<T>(call: EmulatorCall): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, call });
    });
  }

  /** Both threads read the same clocks; the offset is measured anyway, from the fastest ping. */
  async calibrate(): Promise<void> {
    let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
    for (let i = 0; i < 20; i++) {
      const t0 = epochNow();
      const theirs = await this.call<number>({ op: "now" });
      const t1 = epochNow();
      if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: theirs - (t0 + t1) / 2 };
    }
    this.offsetMs = best.offset;
  }

  /** An emulator timestamp on our clock. */
  ours(at: number): number {
    return at - this.offsetMs;
  }

  async close(): Promise<void> {
    await this.call({ op: "close" }).catch(() => undefined);
    await this.worker.terminate();
  }
}
