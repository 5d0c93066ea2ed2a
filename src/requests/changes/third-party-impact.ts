import { errorInWords } from "../../error-words.js";
import type { Impact, ManagementApi } from "./types.js";

/*
 * Third-party applications can sign in only through domain-level connections: promoting a
 * connection opens it to every one of them, demoting it takes it away from them. Approvers are
 * shown how many there are and the first names, as read when the request was made (the request
 * records them as facts, strings only):
 *   apps        the count, or "unknown" when it could not be read
 *   appsAtLeast "1" when the count is a floor (more pages than the bot reads, and no total)
 *   appNames    the first names, as a JSON list of strings, as Auth0 holds them
 *   appsUnread  why they could not be read, in words
 */

/** A name as recorded: Auth0's, cut short. */
const MAX_NAME = 100;

/** Reads the tenant's third-party applications as facts; never throws. */
export async function readApps(
  api: ManagementApi,
  onError: (err: unknown, what: string) => void,
): Promise<Record<string, string>> {
  try {
    const apps = await api.listThirdPartyApps();
    const facts: Record<string, string> = { apps: String(apps.count) };
    if (apps.atLeast) facts.appsAtLeast = "1";
    if (apps.names.length > 0) {
      facts.appNames = JSON.stringify(apps.names.map((n) => n.slice(0, MAX_NAME)));
    }
    return facts;
  } catch (err) {
    onError(err, "the tenant's third-party applications");
    // errorInWords redacts anything shaped like a credential; a missing read:clients reads
    // "the Auth0 application lacks the read:clients scope (grant it under …)".
    return { apps: "unknown", appsUnread: errorInWords(err).slice(0, 500) };
  }
}

function namesOf(facts: Readonly<Record<string, string>>): string[] {
  try {
    const names: unknown = JSON.parse(facts.appNames ?? "[]");
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === "string") : [];
  } catch {
    return [];
  }
}

/** "App A, App B and 12 more" */
function listed(names: string[], count: number, atLeast: boolean): string {
  const more = count - names.length;
  if (more <= 0) {
    return names.length <= 1
      ? names.join("")
      : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  }
  return `${names.join(", ")} and ${more}${atLeast ? " or" : ""} more`;
}

function dcrLine(dcr: string | undefined): string {
  if (dcr === "on" || dcr === "off") return `Dynamic Client Registration is *${dcr}*.`;
  return "Dynamic Client Registration: *could not be read*.";
}

/**
 * The impact of promoting (`promote`) or demoting a connection, from the facts recorded with its
 * request; undefined for a request recorded before the bot read them.
 */
export function thirdPartyImpact(
  facts: Readonly<Record<string, string>>,
  promote: boolean,
): Impact | undefined {
  if (facts.apps === undefined) return undefined;
  const dcr = dcrLine(facts.dcr);
  const count = Number(facts.apps);
  if (facts.apps === "unknown" || !Number.isSafeInteger(count) || count < 0) {
    return {
      summary: `*Impact:* Could not read the tenant's third-party applications, so it is not known which would ${promote ? "gain" : "lose"} this connection. ${dcr}`,
      detail: { label: "Why", text: facts.appsUnread || "unknown" },
    };
  }
  if (count === 0)
    return { summary: `*Impact:* No third-party applications in this tenant. ${dcr}` };
  const atLeast = facts.appsAtLeast === "1";
  const many = `${count}${atLeast ? " or more" : ""} third-party application${count === 1 ? "" : "s"}`;
  const names = namesOf(facts);
  return {
    summary: `*Impact:* ${many} ${promote ? "could then sign in with it" : "would lose it"}. ${dcr}`,
    ...(names.length > 0
      ? { detail: { label: "Third-party applications", text: listed(names, count, atLeast) } }
      : {}),
  };
}
