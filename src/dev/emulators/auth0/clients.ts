/**
 * GET /api/v2/clients as Auth0 documents it: filters (`is_first_party`, `is_global`, `app_type`),
 * offset paging (`page` from 0, `per_page` default 50 and at most 100), `include_totals=true`
 * wrapping the page in `{start, limit, total, clients}`, and `fields` / `include_fields` choosing
 * the properties returned.
 */
import { type Answer, auth0Error } from "./errors.js";
import type { EmulatedClient } from "./types.js";

function queryError(message: string, property: string): Answer {
  return [
    400,
    auth0Error(
      400,
      `Query validation error: '${message}' on property ${property}.`,
      "invalid_query_string",
    ),
  ];
}

/** A non-negative whole number from the query, its default, or why not. */
function whole(
  query: Record<string, string>,
  name: string,
  fallback: number,
  max?: number,
): number | Answer {
  const raw = query[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    return queryError(`Expected type integer but found type string`, name);
  }
  if (max !== undefined && n > max) {
    return queryError(`Value ${n} is greater than maximum ${max}`, name);
  }
  return n;
}

function bool(raw: string | undefined): boolean | undefined {
  return raw === undefined ? undefined : raw === "true";
}

function pick(client: EmulatedClient, fields: string[], include: boolean): Record<string, unknown> {
  const all: Record<string, unknown> = { tenant: "", global: false, ...client };
  if (fields.length === 0) return all;
  return Object.fromEntries(
    Object.entries(all).filter(([key]) => fields.includes(key) === include),
  );
}

export function listClients(clients: EmulatedClient[], query: Record<string, string>): Answer {
  const page = whole(query, "page", 0);
  if (typeof page !== "number") return page;
  const perPage = whole(query, "per_page", 50, 100);
  if (typeof perPage !== "number") return perPage;
  const firstParty = bool(query.is_first_party);
  const global = bool(query.is_global);
  const appTypes = query.app_type?.split(",").filter(Boolean);
  const matching = clients.filter(
    (c) =>
      (firstParty === undefined || c.is_first_party === firstParty) &&
      (global === undefined || global === false) &&
      (appTypes === undefined || appTypes.includes(c.app_type ?? "")),
  );
  const fields = (query.fields ?? "").split(",").filter(Boolean);
  const include = query.include_fields !== "false";
  const start = page * perPage;
  const slice = matching.slice(start, start + perPage).map((c) => pick(c, fields, include));
  if (query.include_totals === "true") {
    return [200, { start, limit: perPage, total: matching.length, clients: slice }];
  }
  return [200, slice];
}
