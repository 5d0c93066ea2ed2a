import type { AnyMiddlewareArgs, Middleware } from "@slack/bolt";
import type { RateVerdict } from "../../../requests/user-rate-limit.js";
import type { BotDeps } from "../../deps.js";
import { actingUserId, refuse } from "./refuse.js";

/** Within Slack's 3 s for the ack, with room to spare: a Redis that slow is taken for down. */
const CHECK_TIMEOUT_MS = 1_500;

export const RATE_CHECK_FAILED_REFUSAL =
  ":warning: The bot's Redis is unreachable, so it takes no commands or clicks just now. Nothing was requested or changed; try again in a minute or tell whoever runs the bot.";

const UNKNOWN_PERSON_REFUSAL =
  ":no_entry: This bot cannot tell who sent this, so it refuses it. Nothing was done.";

const NAMED_WINDOWS = new Map([
  [1_000, "a second"],
  [60_000, "a minute"],
  [3_600_000, "an hour"],
  [86_400_000, "a day"],
]);

/** "a minute", "every 10 s" */
export function perWindow(ms: number): string {
  const named = NAMED_WINDOWS.get(ms);
  if (named) return named;
  return ms % 60_000 === 0 ? `every ${ms / 60_000} min` : `every ${Math.ceil(ms / 1_000)} s`;
}

export function overLimitWords(verdict: RateVerdict, limit: number, windowMs: number): string {
  const wait = Math.max(1, Math.ceil(verdict.retryAfterMs / 1_000));
  return `:hourglass: Too many commands and clicks: each person may send at most ${limit} ${perWindow(windowMs)}. Try again in ${wait} s. Nothing was done.`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * USER_RATE_LIMIT: every command, click and modal submission counts against its person, in
 * Redis (shared by all replicas). Over the limit it is refused in words before any listener runs:
 * no Auth0 call, no change. Events (App Home opened) are not counted: Slack sends them only when
 * a person opens the tab, and they change nothing. Nor are the request form's type-ahead requests
 * (block_suggestion): Slack sends one per keystroke, they change nothing, and they cost Auth0 at
 * most one listing a minute per tenant, however many arrive. When the count cannot be read the
 * request is refused too: a limiter that gives way when Redis struggles protects nothing.
 */
export function userRateLimit(deps: BotDeps): Middleware<AnyMiddlewareArgs> {
  const { limit, windowMs } = deps.userLimit.options;
  return async (args) => {
    const type = (args.body as { type?: string }).type;
    if (type === "event_callback" || type === "block_suggestion") {
      await args.next();
      return;
    }
    const userId = actingUserId(args.body);
    if (!userId) {
      await refuse(args, UNKNOWN_PERSON_REFUSAL);
      return;
    }
    let verdict: RateVerdict;
    try {
      verdict = await withTimeout(deps.userLimit.hit(userId), CHECK_TIMEOUT_MS);
    } catch (err) {
      deps.logger.error({ err, user: userId }, "could not check the per-person rate limit");
      await refuse(args, RATE_CHECK_FAILED_REFUSAL);
      return;
    }
    if (verdict.allowed) {
      await args.next();
      return;
    }
    deps.logger.warn({ user: userId, count: verdict.count }, "refused: per-person rate limit");
    // A click from the App Home tab can only be answered by a direct message: send one for the
    // first refusal of a window, not for each click of a flood.
    await refuse(args, overLimitWords(verdict, limit, windowMs), {
      directMessage: verdict.count === limit + 1,
    });
  };
}
