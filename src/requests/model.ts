import { randomBytes } from "node:crypto";

/** Where a request is in its life. PENDING is the only state a person can act on. */
export type RequestState =
  | "PENDING"
  | "APPROVED"
  | "DONE"
  | "FAILED"
  | "DENIED"
  | "EXPIRED"
  | "CANCELLED";

export const FINAL_STATES: ReadonlySet<RequestState> = new Set([
  "DONE",
  "FAILED",
  "DENIED",
  "EXPIRED",
  "CANCELLED",
]);

/** Which way the change goes: promote sets is_domain_connection true, demote sets it false. */
export type RequestAction = "promote" | "demote";

/** The states in which a request still holds its connection (no second request for it). */
export const OPEN_STATES: ReadonlySet<RequestState> = new Set(["PENDING", "APPROVED"]);

/** What the tenant says about Dynamic Client Registration when the request was made. */
export type DcrStatus = "on" | "off" | "unknown";

export interface PromotionRequest {
  id: string;
  action: RequestAction;
  state: RequestState;
  connectionId: string;
  connectionName: string;
  displayName: string | undefined;
  strategy: string;
  /** is_domain_connection when the request was made. */
  wasDomainConnection: boolean;
  reason: string;
  requesterId: string;
  teamId: string;
  dcr: DcrStatus;
  createdAt: number;
  /** Distinct approvers needed, fixed when the request is made. */
  requiredApprovals: number;
  /** Who has approved so far, in order. */
  approvals: string[];
  /** Dry run: the worker checks everything and reports, without the PATCH. */
  dryRun: boolean;
  expiresAt: number;
  /** The approver whose click settled it (the last approval, or the denial). */
  decidedBy: string | undefined;
  decidedAt: number | undefined;
  denyReason: string | undefined;
  completedAt: number | undefined;
  /** Words for the person: why it failed, or what Auth0 reported. */
  outcome: string | undefined;
  approvalChannel: string | undefined;
  approvalTs: string | undefined;
  /** The request's first audit line, under which the later ones are threaded. */
  auditThreadTs: string | undefined;
  auditPermalink: string | undefined;
}

/** New requests, before they are stored. */
export type NewPromotionRequest = Omit<
  PromotionRequest,
  | "id"
  | "state"
  | "createdAt"
  | "approvals"
  | "decidedBy"
  | "decidedAt"
  | "denyReason"
  | "completedAt"
  | "outcome"
  | "approvalChannel"
  | "approvalTs"
  | "auditThreadTs"
  | "auditPermalink"
  | "expiresAt"
>;

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * Request ids are short enough to type in a slash command, carry no ':' (BullMQ job ids may not)
 * and are unguessable: 10 characters of Crockford base32, 50 bits.
 */
export function newRequestId(): string {
  const bytes = randomBytes(10);
  let id = "req_";
  for (const b of bytes) id += CROCKFORD[b & 31];
  return id;
}

export function isRequestId(value: string): boolean {
  return /^req_[0-9a-hjkmnp-tv-z]{10}$/.test(value);
}
