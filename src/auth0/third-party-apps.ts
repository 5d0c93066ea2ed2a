import { ManagementApiError } from "./errors.js";

/**
 * The tenant's third-party applications (`is_first_party: false`): those that can sign in only
 * through domain-level connections, so promoting or demoting a connection changes what they can
 * use. Read with `GET /api/v2/clients` (read:clients), offset paging, every page up to a cap.
 */

/** What approvers are shown: how many there are, and the names of the first few. */
export interface ThirdPartyApps {
  /** How many (Auth0's `total` when it gave one, else how many were read). */
  count: number;
  /** True when `count` is a floor: the cap of pages was reached and Auth0 gave no total. */
  atLeast: boolean;
  /** The first names, in Auth0's order, as Auth0 holds them (untrusted text). */
  names: string[];
}

/** Auth0's page size ceiling. */
export const APPS_PER_PAGE = 100;
/**
 * Pages read at most: 1000 applications. The count is what matters to an approver, and a
 * tenant's bucket of 2 calls a second is shared with everything else; Auth0's own `total` still
 * gives the count past the cap.
 */
export const MAX_APP_PAGES = 10;
/** Names kept: the message shows these and "and N more". */
export const KEPT_APP_NAMES = 10;

/** The path of page `page` (fields kept to the two the bot reads). */
export function thirdPartyAppsPath(page: number): string {
  const query = new URLSearchParams({
    is_first_party: "false",
    fields: "name,client_id",
    include_fields: "true",
    page: String(page),
    per_page: String(APPS_PER_PAGE),
    include_totals: "true",
  });
  return `/api/v2/clients?${query}`;
}

interface Page {
  clients: unknown[];
  total: number | undefined;
}

/** `{start, limit, total, clients}` with include_totals, or a bare list. */
function pageOf(answer: unknown, path: string): Page {
  if (Array.isArray(answer)) return { clients: answer, total: undefined };
  const body = answer as { clients?: unknown; total?: unknown } | null;
  if (typeof body === "object" && body !== null && Array.isArray(body.clients)) {
    const total = typeof body.total === "number" && body.total >= 0 ? body.total : undefined;
    return { clients: body.clients, total };
  }
  throw new ManagementApiError({
    status: 200,
    method: "GET",
    path,
    retryable: false,
    detail: "Auth0 answered with something that is not a list of applications",
  });
}

/** Reads every page (up to MAX_APP_PAGES) through `get`, the paced Management API client. */
export async function readThirdPartyApps(
  get: (path: string) => Promise<unknown>,
): Promise<ThirdPartyApps> {
  const names: string[] = [];
  let read = 0;
  let total: number | undefined;
  for (let page = 0; page < MAX_APP_PAGES; page++) {
    const path = thirdPartyAppsPath(page);
    const answer = pageOf(await get(path), path);
    total ??= answer.total;
    read += answer.clients.length;
    for (const client of answer.clients) {
      const name = (client as { name?: unknown } | null)?.name;
      if (names.length < KEPT_APP_NAMES && typeof name === "string" && name !== "") {
        names.push(name);
      }
    }
    const done = answer.clients.length < APPS_PER_PAGE || (total !== undefined && read >= total);
    if (done) return { count: Math.max(read, total ?? 0), atLeast: false, names };
  }
  return { count: Math.max(read, total ?? 0), atLeast: total === undefined, names };
}
