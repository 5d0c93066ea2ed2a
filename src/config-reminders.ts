import { formatDuration, parseDurationOrOff } from "./config-fields.js";
import type { TenantProblem } from "./config-tenants.js";

/**
 * When a tenant's pending requests remind their approvers, after they were made: the tenant's
 * `remindAfter` in TENANTS_FILE, else REMIND_AFTER, else halfway through their time to live; 0
 * turns reminders off. A reminder due when the request has already expired could never be sent:
 * that is a problem, named where it is to be fixed.
 */

const OFF = "or 0 to turn reminders off";

function tooLate(afterMs: number, ttlMs: number): boolean {
  return afterMs !== 0 && afterMs >= ttlMs;
}

const halfOf = (ttlMs: number) => Math.floor(ttlMs / 2);

/** The one tenant of the AUTH0_* variables: REMIND_AFTER against REQUEST_TTL. */
export function envRemindAfter(
  ttlMs: number,
  remindAfterMs: number | undefined,
): number | TenantProblem {
  const ms = remindAfterMs ?? halfOf(ttlMs);
  if (!tooLate(ms, ttlMs)) return ms;
  return {
    variable: "REMIND_AFTER",
    text: `REMIND_AFTER (${formatDuration(ms)}) is not shorter than REQUEST_TTL (${formatDuration(ttlMs)}), so no reminder could be sent: shorten it, ${OFF}`,
  };
}

/** A tenant of TENANTS_FILE: its `remindAfter` as written (a duration, or 0), or REMIND_AFTER. */
export function tenantRemindAfter(
  tenant: string,
  own: string | number | undefined,
  ttlMs: number,
  inherited: number | undefined,
): number | TenantProblem {
  const problem = (text: string): TenantProblem => ({
    variable: "TENANTS_FILE",
    text: `tenant ${tenant}: ${text}`,
  });
  const ownMs = own === undefined ? undefined : parseDurationOrOff(String(own));
  if (own !== undefined && ownMs === undefined) {
    return problem(`remindAfter must be a duration such as 12h, 30m or 45s, ${OFF}`);
  }
  const ms = ownMs ?? inherited ?? halfOf(ttlMs);
  if (!tooLate(ms, ttlMs)) return ms;
  const [after, ttl] = [formatDuration(ms), formatDuration(ttlMs)];
  return problem(
    ownMs === undefined
      ? `REMIND_AFTER (${after}) is not shorter than its requestTtl (${ttl}), so no reminder could be sent: set remindAfter for it, ${OFF}`
      : `remindAfter (${after}) is not shorter than requestTtl (${ttl}), so no reminder could be sent: shorten it, ${OFF}`,
  );
}
