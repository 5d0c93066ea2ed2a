/**
 * The emulated tenant's Auth0 budget as the fleet keeps it in Redis (src/auth0/shared-budget.ts,
 * keyed as src/runtime/tenants.ts keys it; the bench's one tenant is the default one). The bench changes the emulated tenant's limits between
 * sections, which a real tenant does not do: before each row of section 3 it forgets the budget,
 * so that the row's fleet meets the tenant with nothing learnt and nothing configured, its first
 * probe and its learning timed with the rest.
 */
import { DEFAULT_TENANT } from "../../requests/model.js";
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
