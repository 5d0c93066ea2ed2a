/**
 * `promise`, or a rejection with `timedOut()` once `ms` have passed without it settling. For the
 * Redis reads that sit in front of Auth0 calls: a slow Redis must not hold them up.
 */
export async function within<T>(
  ms: number,
  promise: Promise<T>,
  timedOut: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
