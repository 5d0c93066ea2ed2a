import { randomBytes } from "node:crypto";

/** Where a request is in its life. PENDING is the only state a person can act on. */
export type RequestState =
  | "PENDING"
  | "APPROVED"
  | "DONE"
  | "FAILED"
  | "DENIED"
  | "EXPIRED"
  | "CANCELLED"
  /** Auth0 did not say whether the change was applied, and reading it again failed too. */
  | "UNKNOWN";

export const FINAL_STATES: ReadonlySet<RequestState> = new Set([
  "DONE",
  "FAILED",
  "UNKNOWN",
  "DENIED",
  "EXPIRED",
  "CANCELLED",
]);

/** The states in which a request still holds its target (no second request for it). */
export const OPEN_STATES: ReadonlySet<RequestState> = new Set(["PENDING", "APPROVED"]);

/** The kinds of change the bot knows; each is one file under requests/changes/. */
export type ChangeKindName = "connection-domain-level" | "tenant-dcr";

/**
 * Which way a change goes. Each kind names the actions it offers (connection-domain-level:
 * promote sets is_domain_connection true, demote sets it false; tenant-dcr: enable-dcr and
 * disable-dcr set the tenant's Dynamic Client Registration flag).
 */
export type ChangeAction = "promote" | "demote" | "enable-dcr" | "disable-dcr";

/** The longest reason a request may give, typed or in the request form. */
export const MAX_REASON_LENGTH = 1000;

/** The Auth0 tenant a request is about; one tenant, named "default", until tenants are configurable. */
export const DEFAULT_TENANT = "default";

/** What a change is made to, as it was when the request was made. */
export interface ChangeTarget {
  /** Auth0's id for it (a connection id). */
  id: string;
  /** Its name, as people know it. */
  name: string;
  /**
   * What the kind recorded about the target when the request was made, for the approvers to see
   * (a connection's display name, strategy, whether it was domain-level, the tenant's DCR flag).
   * Each kind reads its own facts.
   */
  facts: Readonly<Record<string, string>>;
}

/** A request to make one change of one kind to one target in one tenant, and its life. */
export interface ChangeRequest {
  id: string;
  kind: ChangeKindName;
  tenant: string;
  /** The tenant's domain when the request was made, to name it in messages ("acme.us.auth0.com"). */
  tenantDomain: string | undefined;
  action: ChangeAction;
  target: ChangeTarget;
  state: RequestState;
  reason: string;
  requesterId: string;
  teamId: string;
  createdAt: number;
  /** Distinct approvers needed, fixed when the request is made. */
  requiredApprovals: number;
  /** Who has approved so far, in order. */
  approvals: string[];
  /** Dry run: the worker checks everything and reports, without changing anything. */
  dryRun: boolean;
  expiresAt: number;
  /**
   * When its approvers are reminded in the approval message's thread, if it is still pending
   * (REMIND_AFTER after it was made); undefined: never.
   */
  remindAt?: number;
  /** When the reminder was posted (set once, atomically: nobody is reminded twice). */
  remindedAt?: number;
  /** The approver whose click settled it (the last approval, or the denial). */
  decidedBy: string | undefined;
  decidedAt: number | undefined;
  denyReason: string | undefined;
  completedAt: number | undefined;
  /** Words for the person: why it failed, or what Auth0 reported. */
  outcome: string | undefined;
  /**
   * Auth0 has been unavailable for this approved change: the worker keeps trying until then
   * (AUTH0_RETRY_WINDOW after the first failure), and people were told so once.
   */
  retryingUntil: number | undefined;
  approvalChannel: string | undefined;
  approvalTs: string | undefined;
  /** The request's first audit line, under which the later ones are threaded. */
  auditThreadTs: string | undefined;
  auditPermalink: string | undefined;
}

/** New requests, before they are stored. */
export type NewChangeRequest = Omit<
  ChangeRequest,
  | "id"
  | "state"
  | "createdAt"
  | "approvals"
  | "decidedBy"
  | "decidedAt"
  | "denyReason"
  | "completedAt"
  | "outcome"
  | "retryingUntil"
  | "approvalChannel"
  | "approvalTs"
  | "auditThreadTs"
  | "auditPermalink"
  | "expiresAt"
  | "remindAt"
  | "remindedAt"
>;

/** A new request as it is first stored: PENDING, nothing decided, done or posted yet. */
export function pendingRequest(
  input: NewChangeRequest,
  at: { id: string; createdAt: number; expiresAt: number; remindAt?: number },
): ChangeRequest {
  return {
    ...input,
    id: at.id,
    state: "PENDING",
    createdAt: at.createdAt,
    expiresAt: at.expiresAt,
    remindAt: at.remindAt,
    approvals: [],
    decidedBy: undefined,
    decidedAt: undefined,
    denyReason: undefined,
    completedAt: undefined,
    outcome: undefined,
    retryingUntil: undefined,
    approvalChannel: undefined,
    approvalTs: undefined,
    auditThreadTs: undefined,
    auditPermalink: undefined,
  };
}

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
