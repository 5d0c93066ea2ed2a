import type { NewChangeRequest } from "../../src/requests/model.js";
import type { RequestStore } from "../../src/requests/store.js";

/** A connection as a test names it for a request made without the bot. */
export interface ConnectionLike {
  id: string;
  name: string;
  display_name?: string;
  strategy?: string;
  is_domain_connection?: boolean;
}

/** A new request to promote (or demote) `connection`, as the bot would record it. */
export function connectionRequest(
  connection: ConnectionLike,
  overrides: Partial<NewChangeRequest> = {},
): NewChangeRequest {
  const facts: Record<string, string> = {
    strategy: connection.strategy ?? "auth0",
    wasDomainConnection: connection.is_domain_connection ? "1" : "0",
    dcr: "on",
  };
  if (connection.display_name !== undefined) facts.displayName = connection.display_name;
  return {
    kind: "connection-domain-level",
    tenant: "default",
    tenantDomain: "acme.test.auth0.com",
    action: "promote",
    target: { id: connection.id, name: connection.name, facts },
    reason: "",
    requesterId: "UREQUESTER",
    teamId: "T0TEST001",
    requiredApprovals: 1,
    dryRun: false,
    ...overrides,
  };
}

/** Records a request and its approval directly in Redis, as a bot would have; returns its id. */
export async function createApproved(
  store: RequestStore,
  request: NewChangeRequest,
  approver: string,
): Promise<string> {
  const created = await store.create(request, { ttlMs: 3_600_000, maxOpenPerUser: 5 });
  if (!created.ok) throw new Error(`could not create the request: ${created.reason}`);
  const approved = await store.approve(created.request.id, approver);
  if (approved.outcome !== "approved") throw new Error(`not approved: ${approved.outcome}`);
  return created.request.id;
}
