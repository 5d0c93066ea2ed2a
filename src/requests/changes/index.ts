import type { ChangeAction, ChangeKindName } from "../model.js";
import { connectionDomainLevel } from "./connection-domain-level.js";
import { tenantDcr } from "./tenant-dcr.js";
import type { ActionWords, ChangeKind } from "./types.js";

export type {
  ActionWords,
  ChangeKind,
  Impact,
  ManagementApi,
  TargetFact,
  TargetRef,
} from "./types.js";
export { WRITE_CALLS } from "./types.js";

/** Every kind of change the bot can make. A new kind is one new file and one line here. */
export const CHANGE_KINDS: Readonly<Record<ChangeKindName, ChangeKind>> = {
  "connection-domain-level": connectionDomainLevel,
  "tenant-dcr": tenantDcr,
};

export function changeKind(name: ChangeKindName): ChangeKind {
  return CHANGE_KINDS[name];
}

/** Is this a kind the bot knows (a stored request may name one it no longer does)? */
export function isChangeKindName(name: string): name is ChangeKindName {
  return Object.hasOwn(CHANGE_KINDS, name);
}

/** The kind that offers an action; every action belongs to exactly one kind. */
export function kindOfAction(action: ChangeAction): ChangeKind {
  for (const kind of Object.values(CHANGE_KINDS)) {
    if (kind.actions.includes(action)) return kind;
  }
  throw new RangeError(`no kind of change offers the action "${action}"`);
}

/** The action that undoes `action` of `kind` (demote for promote), if it has one. */
export function oppositeOf(kind: ChangeKind, action: ChangeAction): ChangeAction | undefined {
  return kind.opposites?.[action];
}

/** The words of an action of a kind. */
export function wordsFor(kind: ChangeKind, action: ChangeAction): ActionWords {
  const words = kind.words[action];
  if (!words) throw new RangeError(`the kind ${kind.name} has no action "${action}"`);
  return words;
}

/** The words of a request's action. */
export function wordsOf(request: { kind: ChangeKindName; action: ChangeAction }): ActionWords {
  return wordsFor(changeKind(request.kind), request.action);
}
