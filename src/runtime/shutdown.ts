import type { Logger } from "../log.js";

interface Step {
  name: string;
  close: () => Promise<unknown>;
  /** How long this step may take; read when shutdown reaches it. */
  ms: () => number;
}

/**
 * What to close on stop, in the reverse order it was opened. Each step is bounded, so a Redis
 * that is gone cannot hold shutdown: workers get long enough to finish an in-flight Auth0 call;
 * anything else gets a few seconds.
 */
export class Shutdown {
  private readonly steps: Step[] = [];

  constructor(private readonly logger: Logger) {}

  add(name: string, close: () => Promise<unknown>, ms: () => number = () => 3_000): void {
    this.steps.push({ name, close, ms });
  }

  async run(): Promise<void> {
    for (const { close, name, ms } of this.steps.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.logger.warn({ step: name }, "shutdown step timed out; going on");
          resolve();
        }, ms());
      });
      await Promise.race([
        close().catch((err: unknown) =>
          this.logger.warn({ err, step: name }, "error while shutting down"),
        ),
        timeout,
      ]);
      clearTimeout(timer);
    }
  }
}
