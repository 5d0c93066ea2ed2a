import { redactSecrets } from "./log.js";

/** Our errors carry words for people (`userMessage`); anything else has at least a message. */
interface ErrorWithWords {
  userMessage?: unknown;
  message?: unknown;
}

/**
 * Any error in words a person can act on: its `userMessage` when it has one (the Auth0 client's
 * errors do), else its message, else the value itself. Anything shaped like a credential is
 * redacted, so the words are safe to show in Slack, print or log.
 */
export function errorInWords(err: unknown): string {
  return redactSecrets(words(err));
}

function words(err: unknown): string {
  if (err && typeof err === "object") {
    const { userMessage, message } = err as ErrorWithWords;
    if (typeof userMessage === "string" && userMessage) return userMessage;
    if (typeof message === "string" && message) return message;
  }
  return String(err);
}
