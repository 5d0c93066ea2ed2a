/** Our errors carry words for people (userMessage); anything else has at least a message. */
interface ErrorWithWords {
  userMessage?: string;
  message: string;
}

/** An error in words a person can act on. */
export function errorInWords(err: unknown): string {
  if (err && typeof err === "object") {
    const e = err as ErrorWithWords;
    if (typeof e.userMessage === "string" && e.userMessage) return e.userMessage;
    if (typeof e.message === "string" && e.message) return e.message;
  }
  return String(err);
}
