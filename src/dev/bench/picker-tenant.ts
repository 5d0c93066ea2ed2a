/**
 * Section 8's tenant and typist: connections named as tenants name them (a company, the kind of
 * identity provider, sometimes an environment; a display name for most, some too long for a
 * Slack option), and what a person types in the picker looking for one of them. Drawn from a
 * seeded generator, so every run types the same keystrokes into the same tenant.
 */
import type { EmulatedConnection } from "../emulators/auth0/index.js";

/** mulberry32: a small seeded generator, [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, from: readonly T[]): T =>
  from[Math.floor(rand() * from.length)] as T;

const COMPANY = (
  "acme globex initech umbrella stark wayne wonka hooli soylent tyrell cyberdyne aperture " +
  "vandelay dunder prestige monarch oscorp nakatomi massive pied blue silver golden red " +
  "green bright summit harbor pioneer atlas nova apex vertex quantum lumen orbit cedar " +
  "maple granite falcon"
).split(" ");
const TRADE = (
  "corp labs dynamics systems health bank retail logistics energy media foods motors " +
  "insurance capital pharma telecom airlines hotels games software partners group " +
  "university council clinic"
).split(" ");
const PROVIDER = [
  { suffix: "saml", strategy: "samlp", label: "SAML" },
  { suffix: "azure-ad", strategy: "waad", label: "Azure AD" },
  { suffix: "okta", strategy: "okta", label: "Okta" },
  { suffix: "oidc", strategy: "oidc", label: "OpenID Connect" },
  { suffix: "adfs", strategy: "adfs", label: "ADFS" },
  { suffix: "google", strategy: "google-apps", label: "Google Workspace" },
  { suffix: "db", strategy: "auth0", label: "Database" },
  { suffix: "pingfed", strategy: "pingfederate", label: "PingFederate" },
  { suffix: "ad", strategy: "ad", label: "Active Directory" },
  { suffix: "passwordless", strategy: "email", label: "Email passwordless" },
] as const;
/** Most connections name no environment. */
const ENVIRONMENT = ["", "", "", "", "prod", "staging", "eu", "us", "apac", "dev", "uat"] as const;
const ID_CHARS = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"];

const title = (word: string) => `${word[0]?.toUpperCase() ?? ""}${word.slice(1)}`;

/**
 * `count` connections, about one in twelve domain-level, with ids and names unlike the bench's
 * own (`con_Bench…`, `bench-…`) and unique among themselves.
 */
export function pickerConnections(count: number, seed = 8): EmulatedConnection[] {
  const rand = seeded(seed);
  const names = new Set<string>();
  const ids = new Set<string>();
  const made: EmulatedConnection[] = [];
  // Bounded: far more tries than the name space needs for a few thousand.
  for (let tries = 0; made.length < count && tries < count * 50; tries++) {
    const company = pick(rand, COMPANY);
    const trade = pick(rand, TRADE);
    const provider = pick(rand, PROVIDER);
    const env = pick(rand, ENVIRONMENT);
    const long = rand() < 0.04;
    const name = [
      company,
      trade,
      ...(long ? ["customer-federation-for-employees-and-contractors"] : []),
      provider.suffix,
      ...(env ? [env] : []),
    ].join("-");
    if (names.has(name)) continue;
    let id = "";
    do {
      id = `con_${Array.from({ length: 16 }, () => pick(rand, ID_CHARS)).join("")}`;
    } while (ids.has(id) || id.startsWith("con_Bench"));
    names.add(name);
    ids.add(id);
    const company2 = `${title(company)} ${title(trade)}`;
    const displayName =
      rand() < 0.1
        ? undefined
        : rand() < 0.05
          ? `${company2} International Holdings — ${provider.label} single sign-on for employees${env ? ` (${env.toUpperCase()})` : ""}`
          : `${company2} — ${provider.label}${env ? ` (${env.toUpperCase()})` : ""}`;
    made.push({
      id,
      name,
      ...(displayName ? { display_name: displayName } : {}),
      strategy: provider.strategy,
      is_domain_connection: rand() < 0.08,
    });
  }
  if (made.length < count) throw new Error(`only ${made.length} of ${count} connection names`);
  return made;
}

/** Names a person might look for that the tenant does not have. */
const ABSENT = ["contoso", "fabrikam", "northwind", "wingtip", "tailspin", "litware", "woodgrove"];

/**
 * `count` keystrokes: a person looks for a connection by its name (most often), display name or
 * id, or for one the tenant lacks, typing 1 to 6 characters, each keystroke a query. Ids are
 * searched by a part of what follows `con_`, as one copies it from a log or the Dashboard.
 */
export function typedQueries(
  connections: readonly EmulatedConnection[],
  count: number,
  seed = 88,
): string[] {
  const rand = seeded(seed);
  const queries: string[] = [];
  while (queries.length < count) {
    const c = pick(rand, connections);
    const r = rand();
    let source: string;
    if (r < 0.45) source = c.name;
    else if (r < 0.7) source = c.display_name ?? c.name;
    else if (r < 0.85) {
      const from = 4 + Math.floor(rand() * 10);
      source = c.id.slice(from);
    } else source = pick(rand, ABSENT);
    const length = Math.min(source.length, 1 + Math.floor(rand() * 6));
    for (let k = 1; k <= length && queries.length < count; k++) queries.push(source.slice(0, k));
  }
  return queries;
}

/**
 * How many of `connections` the picker should find for `query`: its name, display name or id
 * contains what was typed, trimmed, case aside (src/slack/views/connection-options.ts); all for
 * nothing typed.
 */
export function matchCount(connections: readonly EmulatedConnection[], query: string): number {
  const q = query.trim().toLowerCase();
  if (q === "") return connections.length;
  let n = 0;
  for (const c of connections) {
    if (
      c.name.toLowerCase().includes(q) ||
      (c.display_name ?? "").toLowerCase().includes(q) ||
      c.id.toLowerCase().includes(q)
    ) {
      n++;
    }
  }
  return n;
}
