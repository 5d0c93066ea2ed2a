/**
 * What the bench's requests cost Auth0: Management API calls per request made (each should cost
 * its one lookup; the tenant's settings are read once a minute for the fleet), per promotion (the
 * worker's GET and PATCH), and the tokens issued for every bot process of the run.
 */
import type { ApiCall } from "./emulator-thread.js";
import type { Report } from "./report.js";
import type { World } from "./world.js";

const TENANT_SETTINGS = "/api/v2/tenants/settings";

function split(calls: ApiCall[]): { settings: number; lookups: number } {
  const settings = calls.filter((c) => c.path === TENANT_SETTINGS).length;
  return { settings, lookups: calls.length - settings };
}

/** Calls per request made, for one batch made within a minute by one bot process. */
export function creationCostRow(report: Report, label: string, calls: ApiCall[], n: number) {
  const { settings, lookups } = split(calls);
  report.row(
    `${label}: Management API calls per request made`,
    `${(calls.length / n).toFixed(3)} (${lookups} lookups + ${settings} settings read)`,
    "≤ 1 + 1 settings read",
    lookups <= n && settings <= 1,
  );
}

/** The worker's calls per promotion: GET the connection, PATCH it. */
export function promotionCostRow(report: Report, calls: ApiCall[], n: number) {
  report.row(
    "   … Management API calls per promotion (worker)",
    `${(calls.length / n).toFixed(2)} (${calls.filter((c) => c.method === "PATCH").length} PATCH)`,
    "2 (GET + PATCH)",
    calls.length <= 2 * n,
  );
}

/** Section 7: the whole run. */
export async function measureAuth0Cost(world: World): Promise<void> {
  const { report, emu, auth0Cost } = world;
  report.section = 7;
  const requests = auth0Cost.batches.reduce((n, b) => n + b.requests, 0);
  const { settings, lookups } = split(auth0Cost.batches.flatMap((b) => b.calls));
  report.row(
    `7. Management API calls per request made, whole run (${requests} requests)`,
    `${((settings + lookups) / requests).toFixed(3)} (${lookups} lookups + ${settings} settings read${settings === 1 ? "" : "s"})`,
  );
  const tokens = (await emu.call<number>({ op: "tokensIssued" })) - auth0Cost.peerTokens;
  report.row(
    `   … Auth0 tokens issued for ${auth0Cost.botsStarted} bot processes on one Redis`,
    String(tokens),
    "1",
    tokens === 1,
  );
}
