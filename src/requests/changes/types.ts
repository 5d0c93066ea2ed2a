import type { Connection, TenantSettings } from "../../auth0/management.js";
import type { ThirdPartyApps } from "../../auth0/third-party-apps.js";
import type { ChangeAction, ChangeKindName, ChangeRequest, ChangeTarget } from "../model.js";

/**
 * The Management API calls a kind of change may make. The Auth0 client (auth0/management.ts)
 * provides them; the kinds see only this, so domain code never touches a transport.
 */
export interface ManagementApi {
  getConnection(id: string): Promise<Connection>;
  findConnectionByName(name: string): Promise<Connection | undefined>;
  /** Every connection of the tenant, all pages; `onPage` sees each page as it arrives. */
  listConnections(options?: {
    onPage?: (page: readonly Connection[]) => void;
  }): Promise<Connection[]>;
  setDomainLevel(current: Connection, value: boolean): Promise<Connection>;
  /** The tenant's settings; `fresh` skips the fleet's one-minute cache. */
  getTenantSettings(options?: { fresh?: boolean }): Promise<TenantSettings>;
  /** Sets only the flags named, leaving the others alone. */
  setTenantFlags(flags: Record<string, boolean>): Promise<TenantSettings>;
  /** How many third-party applications the tenant has, and the first names (read:clients). */
  listThirdPartyApps(): Promise<ThirdPartyApps>;
}

/** The calls that change something in Auth0; the rest only read. */
export const WRITE_CALLS = [
  "setDomainLevel",
  "setTenantFlags",
] as const satisfies readonly (keyof ManagementApi)[];

/** How a person named a target: by Auth0 id or by name. Validated before it reaches a URL. */
export type TargetRef = { kind: "id"; id: string } | { kind: "name"; name: string };

/** The words of one action of a kind, for messages. Text may use *bold*; no other markup. */
export interface ActionWords {
  /** "promote" */
  verb: string;
  /** What the subcommand does, for help: "promote a connection to domain level". */
  does: string;
  /** "promoting", while the worker runs it */
  doing: string;
  /** "Promotion", in "Promotion failed" */
  noun: string;
  /** The approval message's header. */
  title: string;
  /** "Promoted to domain level", once done. */
  done: string;
  /** What approving it means, under the requester's line. */
  effect: string;
  /** The confirmation dialog of the Approve button: its title and text. */
  confirmTitle: string;
  confirmText(request: ChangeRequest): string;
}

/** A fact about the target, shown to approvers. */
export interface TargetFact {
  label: string;
  value: string;
  /**
   * "code" for identifiers we validated; "plain" for what Auth0 or a person supplied, which is
   * shown literally.
   */
  style: "code" | "plain" | "text";
}

/** What a change would do beyond its target, as recorded when it was asked for. */
export interface Impact {
  /** One line in our own words ("*Impact:* 3 third-party applications could then sign in…"). */
  summary: string;
  /** What Auth0 supplied (application names, why it could not be read), shown literally. */
  detail?: { label: string; text: string };
}

/**
 * One kind of change: everything that differs between, say, promoting a connection and turning a
 * tenant's Dynamic Client Registration on. The request model, store, approval workflow, worker
 * and messages are the same for every kind; they ask the kind for the rest.
 */
export interface ChangeKind {
  name: ChangeKindName;
  /** The actions it offers; each is a subcommand of the same name. */
  actions: readonly ChangeAction[];
  /**
   * The action that undoes each of its actions (promote ↔ demote): what "Request revert" on a
   * request carried out asks for. An action without one offers no revert.
   */
  opposites?: Readonly<Partial<Record<ChangeAction, ChangeAction>>>;
  /** Management API scopes: to look the target up, and to apply the change. */
  scopes: { lookUp: readonly string[]; apply: readonly string[] };
  /** What the target is called in words ("connection"). */
  targetNoun: string;
  /**
   * The target is the tenant itself (its DCR flag): the tenant word is the argument, and there
   * is no other target to name.
   */
  targetIsTenant?: boolean;
  /** Usage of the target argument ("<con_id | name>"). */
  targetUsage: string;

  /** Reads what a person typed into a reference, or says why it cannot be one. */
  parseTarget(word: string): TargetRef | { invalid: string };
  /** The target as Auth0 has it now, or undefined when none matches. Auth0 errors propagate. */
  lookUp(api: ManagementApi, ref: TargetRef): Promise<ChangeTarget | undefined>;
  /** Words saying why this action would change nothing, or undefined when it would. */
  noOp(target: ChangeTarget, action: ChangeAction): string | undefined;
  /**
   * More facts worth recording with the request, read once it is clear the request will be made
   * (the tenant's DCR flag). Never throws: what cannot be read is recorded as unknown.
   */
  context(
    api: ManagementApi,
    target: ChangeTarget,
    action: ChangeAction,
    onError: (err: unknown, what: string) => void,
  ): Promise<Record<string, string>>;
  /**
   * Carries out an approved request and returns what happened, in words. Reads the target again
   * first and changes only what differs; with dryRun it changes nothing. Auth0 errors propagate.
   * Safe to run twice.
   */
  apply(api: ManagementApi, request: ChangeRequest, options: { dryRun: boolean }): Promise<string>;
  /**
   * Reads the target again: is the change in place? For when Auth0 did not answer the change
   * itself (a timeout, a 5xx) and the worker must not record a failure that did not happen.
   */
  isApplied(api: ManagementApi, request: ChangeRequest): Promise<boolean>;

  /** The words of each of its actions. */
  words: Readonly<Partial<Record<ChangeAction, ActionWords>>>;
  /**
   * How messages name the target ("`acme-db` (`con_…`)"); default its name and id. A kind whose
   * target is the tenant names what it changes instead.
   */
  label?(target: ChangeTarget): string;
  /** The target's present state in a line (status): "`acme-db` … is *a domain-level connection*". */
  stateLine(target: ChangeTarget): string;
  /** What the approval message shows about the target. */
  facts(request: ChangeRequest): TargetFact[];
  /** Warnings for approvers (the tenant's DCR is off), in words. */
  warnings(request: ChangeRequest): string[];
  /**
   * Who else the change reaches (the tenant's third-party applications), from the facts recorded
   * with the request; undefined when the kind has none, or the request predates recording it.
   */
  impact?(request: ChangeRequest): Impact | undefined;
}
