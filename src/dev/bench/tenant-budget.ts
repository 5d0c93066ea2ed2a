/**
 * The emulated tenant's Auth0 budget as the fleet keeps it in Redis (src/auth0/shared-budget.ts,
 * keyed as src/runtime/index.ts keys it). The bench changes the emulated tenant's limits between
 * sections, which a real tenant does not do, so it sets the budget to match each time:
 *
 * - before each row of section 3 it forgets the budget: the row's fleet meets the tenant with
 *   nothing learnt and nothing configured, its first probe and its learning timed with the rest;
 * - for the sections that do not measure Auth0's pace (1, 2, 5 and making section 3's requests)
 *   it writes the budget a fleet holds once it has seen the emulator's generous bucket (1000
 *   requests/s) drained. The budget learns a refill rate from `x-ratelimit-reset`, in whole
 *   seconds, so a bucket that is never drained is learnt at a few requests/s and lookups for
 *   people would be turned away ("Auth0 is busy") long before the emulator limits anything.
 */
import { DEFAULT_TENANT } from "../../requests/model.js";
import { UNPACED_RATE } from "./config.js";
import type { World } from "./world.js";

function budgetKey(world: World): string {
  return `${world.prefix}:auth0-budget:${DEFAULT_TENANT}`;
}

/** Nothing learnt: the next call is the fleet's first probe of the tenant. */
export async function forgetTenantBudget(world: World): Promise<void> {
  await world.redis.del(budgetKey(world));
}

/** The refill rate the fleet has learnt, per second; undefined before it has learnt one. */
export async function learntRate(world: World): Promise<number | undefined> {
  const perMs = Number(await world.redis.hget(budgetKey(world), "rate"));
  return Number.isFinite(perMs) && perMs > 0 ? perMs * 1000 : undefined;
}

/** What the budget knows of the emulator's generous bucket once it has drained it. */
export async function learnGenerousTenant(world: World): Promise<void> {
  // Capacity keeps one request in hand below Auth0's bucket; rates are per millisecond; lookups
  // for people have half of it (the budget's default share).
  const capacity = UNPACED_RATE - 1;
  await world.redis.del(budgetKey(world));
  await world.redis.hset(budgetKey(world), {
    tokens: capacity,
    lookupTokens: capacity / 2,
    rate: UNPACED_RATE / 1000,
    capacity,
    learnt: "1",
  });
}
