/** Readiness checks: how /readyz asks a dependency without hammering it or hanging on it. */

/**
 * A check that asks its dependency at most once at a time: probes that arrive while a call is in
 * flight share its answer, so any number of concurrent probes costs one call. A good answer is
 * kept for `keepOkMs`; a failing one is asked again by the next probe.
 */
export function sharedCheck(
  check: () => Promise<boolean>,
  keepOkMs: number,
): () => Promise<boolean> {
  let okAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<boolean> | undefined;
  return () => {
    if (Date.now() - okAt < keepOkMs) return Promise.resolve(true);
    inFlight ??= check()
      .catch(() => false)
      .then((ok) => {
        if (ok) okAt = Date.now();
        inFlight = undefined;
        return ok;
      });
    return inFlight;
  };
}

/** The check's answer, or false if it throws or has not answered within `ms`. */
export async function withTimeout(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check().catch(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
