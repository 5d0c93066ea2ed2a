/**
 * What the bench's requests cost Auth0: Management API calls per request made (each should cost
 * its one lookup; the tenant's settings and its third-party applications, the impact shown to
 * approvers, are read once a minute for the fleet), per promotion (the
 * worker's GET and PATCH), and the tokens issued for every bot process of the run.
 */
import type { ApiCall } from "./emulator-thread.js";
import type { Report } from "./report.js";
import type { World } from "./world.js";

/** What the fleet reads once a minute per tenant, however many requests are made. */
const FLEET_READS = ["/api/v2/tenants/settings", "/api/v2/clients"];

function split(calls: ApiCall[]): { shared: number; lookups: number } {
  const shared = calls.filter((c) =>
    FLEET_READS.some((p) => c.path === p || c.path.startsWith(`${p}?`)),
  ).length;
  return { shared, lookups: calls.length - shared };
}

function sharedWords(shared: number): string {
  return `${shared} fleet read${shared === 1 ? "" : "s"}: settings, apps`;
}

/** Calls per request made, for one batch made within a minute by one bot process. */
export function creationCostRow(report: Report, label: string, calls: ApiCall[], n: number) {
  const { shared, lookups } = split(calls);
  report.row(
    `${label}: Management API calls per request made`,
    `${(calls.length / n).toFixed(3)} (${lookups} lookups + ${sharedWords(shared)})`,
    "≤ 1 + 2 fleet reads",
    lookups <= n && shared <= FLEET_READS.length,
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
  const { shared, lookups } = split(auth0Cost.batches.flatMap((b) => b.calls));
  report.row(
    `7. Management API calls per request made, whole run (${requests} requests)`,
    `${((shared + lookups) / requests).toFixed(3)} (${lookups} lookups + ${sharedWords(shared)})`,
  );
  const tokens = (await emu.call<number>({ op: "tokensIssued" })) - auth0Cost.peerTokens;
  report.row(
    `   … Auth0 tokens issued for ${auth0Cost.botsStarted} bot processes on one Redis`,
    String(tokens),
    "1",
    tokens === 1,
  );
}
