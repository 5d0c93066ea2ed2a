import type { PlainTextOption } from "@slack/types";
import type { ListedConnection } from "../../auth0/connection-list.js";
import { isConnectionId, isConnectionName } from "../../auth0/validate.js";
import type { ChangeAction } from "../../requests/model.js";
import { plain, truncate } from "./text.js";

/**
 * The type-ahead of the request form's connection picker: what matches what a person typed, as
 * Slack's options (at most 100, text at most 75 characters, value the connection id), those
 * already in the state the change would bring marked and listed after the others.
 */

/** Slack's limits for an options answer. */
export const MAX_OPTIONS = 100;
const MAX_OPTION_TEXT = 75;

interface Searchable {
  connection: ListedConnection;
  name: string;
  displayName: string;
  id: string;
}

/** Lower-cased once per list, not once per keystroke: a list serves a minute of typing. */
const indexes = new WeakMap<readonly ListedConnection[], Searchable[]>();

function indexOf(list: readonly ListedConnection[]): Searchable[] {
  let index = indexes.get(list);
  if (!index) {
    index = list.map((connection) => ({
      connection,
      name: connection.name.toLowerCase(),
      displayName: (connection.displayName ?? "").toLowerCase(),
      id: connection.id.toLowerCase(),
    }));
    indexes.set(list, index);
  }
  return index;
}

/**
 * How well a connection matches: 0 exactly (name or id), 1 a prefix of its name, display name or
 * id, 2 anywhere in them; undefined when not at all. Case does not matter.
 */
function rank(s: Searchable, q: string): 0 | 1 | 2 | undefined {
  if (q === "") return 1;
  if (s.name === q || s.id === q) return 0;
  if (s.name.startsWith(q) || s.displayName.startsWith(q) || s.id.startsWith(q)) return 1;
  if (s.name.includes(q) || s.displayName.includes(q) || s.id.includes(q)) return 2;
  return undefined;
}

/** Words for a connection the change would not change, or undefined when it would. */
export function alreadyMark(
  action: ChangeAction,
  connection: ListedConnection,
): string | undefined {
  if (action === "promote" && connection.domainLevel) return "already domain-level";
  if (action === "demote" && !connection.domainLevel) return "not domain-level";
  return undefined;
}

/** "acme-db — Acme Employees · already domain-level", cut so that the mark always shows. */
export function optionText(connection: ListedConnection, mark: string | undefined): string {
  const { name, displayName } = connection;
  const label = displayName && displayName !== name ? `${name} — ${displayName}` : name;
  const suffix = mark ? ` · ${mark}` : "";
  return `${truncate(label, MAX_OPTION_TEXT - suffix.length)}${suffix}`;
}

/**
 * The connections matching `query` in `list` (sorted by name), best first: exact, then prefix,
 * then anywhere; within each, those the change would alter before those marked. When the list is
 * not complete (Auth0 slow or refusing), what was typed is offered too if it could be an id or a
 * name, so a person who knows it is never stuck: the submission looks it up.
 */
export function connectionOptions(
  list: readonly ListedConnection[],
  query: string,
  action: ChangeAction,
  options: { complete: boolean },
): { options: PlainTextOption[] } {
  const q = query.trim().toLowerCase();
  // [rank][marked]: each bucket keeps the list's name order.
  const buckets: ListedConnection[][] = [[], [], [], [], [], []];
  for (const s of indexOf(list)) {
    const r = rank(s, q);
    if (r === undefined) continue;
    buckets[r * 2 + (alreadyMark(action, s.connection) ? 1 : 0)]?.push(s.connection);
  }
  const best = buckets.flat().slice(0, MAX_OPTIONS);
  const shown: PlainTextOption[] = best.map((c) => ({
    text: plain(optionText(c, alreadyMark(action, c)), MAX_OPTION_TEXT),
    value: c.id,
  }));
  const typed = query.trim();
  const exact = best.some((c) => c.id === typed || c.name === typed);
  if (!options.complete && !exact && (isConnectionId(typed) || isConnectionName(typed))) {
    const asTyped = { text: plain(`${typed} (as typed)`, MAX_OPTION_TEXT), value: typed };
    return { options: [...shown.slice(0, MAX_OPTIONS - 1), asTyped] };
  }
  return { options: shown };
}
