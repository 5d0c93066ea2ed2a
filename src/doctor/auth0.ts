import { describeCredential } from "../auth0/client-auth.js";
import {
  createTransport,
  ManagementApiError,
  ManagementClient,
  RateLimiter,
  TokenProvider,
  TokenRequestError,
} from "../auth0/index.js";
import type { Config, TenantConfig } from "../config.js";
import { errorInWords } from "../error-words.js";
import { type CheckResult, fail, ok, skip, warn } from "./report.js";

/** Auth0: a Management API token, the scopes the bot needs, Dynamic Client Registration. */

const CHECK = { token: "Auth0 token", dcr: "Dynamic Client Registration" } as const;

/** What each Management API scope is for, in the order they are checked. */
const AUTH0_SCOPES = [
  { scope: "read:connections", purpose: "look connections up", required: true, without: "" },
  { scope: "update:connections", purpose: "the PATCH that promotes", required: true, without: "" },
  {
    scope: "read:tenant_settings",
    purpose: "read whether Dynamic Client Registration is on",
    required: false,
    without: "the bot cannot tell whether Dynamic Client Registration is on",
  },
  {
    scope: "update:tenant_settings",
    purpose: "turn Dynamic Client Registration on or off (enable-dcr, disable-dcr)",
    required: false,
    without: "approved enable-dcr and disable-dcr requests would fail",
  },
  {
    scope: "read:clients",
    purpose: "show approvers which third-party applications a change affects",
    required: false,
    without:
      "approval messages will say that the third-party applications a change affects could not be read",
  },
] as const;

const MANAGEMENT_API_GRANTS =
  "Auth0 Dashboard → Applications → APIs → Auth0 Management API → Machine to Machine Applications";

export function auth0Names(): string[] {
  return [CHECK.token, ...AUTH0_SCOPES.map((s) => `Auth0 scope ${s.scope}`), CHECK.dcr];
}

/** Where a tenant's settings are written: the AUTH0_* variables, or its entry in TENANTS_FILE. */
interface SettingNames {
  domain: string;
  clientId: string;
  /** The credential: the client secret, or the private key file. */
  secret: string;
  keyId: string;
  audience: string;
  all: string;
}

function settingNames(config: Config, tenant: TenantConfig): SettingNames {
  const byKey = tenant.credential.kind === "private_key_jwt";
  if (!config.tenantsFile) {
    const secret = byKey ? "AUTH0_PRIVATE_KEY_FILE" : "AUTH0_CLIENT_SECRET";
    return {
      domain: "AUTH0_DOMAIN",
      clientId: "AUTH0_CLIENT_ID",
      secret,
      keyId: "AUTH0_PRIVATE_KEY_ID",
      audience: "AUTH0_AUDIENCE",
      all: `AUTH0_DOMAIN, AUTH0_CLIENT_ID, ${secret} and AUTH0_AUDIENCE`,
    };
  }
  const of = (key: string) => `${key} of tenant ${tenant.name} in ${config.tenantsFile}`;
  return {
    domain: of("domain"),
    clientId: of("clientId"),
    secret: of(byKey ? "privateKeyFile" : "clientSecret"),
    keyId: of("privateKeyId"),
    audience: of("audience"),
    all: `tenant ${tenant.name}'s domain, clientId, credentials and audience in ${config.tenantsFile}`,
  };
}

const APPLICATIONS = "Auth0 Dashboard → Applications → Applications";

/** Where to look in the Auth0 Dashboard for each way a token request can fail. */
function tokenFix(err: unknown, tenant: TenantConfig, names: SettingNames): string {
  const byKey = tenant.credential.kind === "private_key_jwt";
  const checkSettings = `check ${names.all}`;
  if (!(err instanceof TokenRequestError)) return checkSettings;
  const app = `the application with client id ${tenant.clientId}`;
  const { reason } = err;
  switch (reason) {
    case "unreachable":
      return `check ${names.domain} (the tenant's canonical domain, e.g. acme.us.auth0.com) and that this host can reach it (proxy, firewall)`;
    case "invalid_client":
      return byKey
        ? `check ${names.clientId}, and that ${app} uses Private Key JWT with the public half of ${names.secret} registered: ${APPLICATIONS} → ${app} → Credentials`
        : `check ${names.clientId} and ${names.secret}: ${APPLICATIONS} → ${app} → Settings`;
    case "client_assertion_key_rejected":
      return (
        `register the public half of ${names.secret} with ${app}: ${APPLICATIONS} → ${app} → Credentials → Add New Key (RS256, RS384 or PS256); ` +
        `set ${names.keyId} to the key id Auth0 shows for it, or leave it unset; and check that ${names.secret} is that key's private half`
      );
    case "client_assertion_claims_rejected":
      return "check this host's clock (NTP): each assertion is valid from now for 60 s, and Auth0 allows little skew";
    case "unknown_audience":
      return `set ${names.audience} to the Management API identifier ${tenant.baseUrl}/api/v2/ (trailing slash included), or leave it unset`;
    case "not_authorized_for_api":
      return `${MANAGEMENT_API_GRANTS} → authorize ${app}`;
    case "grant_type_not_allowed":
      return `${APPLICATIONS} → ${app} → Advanced Settings → Grant Types → tick Client Credentials`;
    case "issuer_mismatch":
      return `set ${names.domain} to the tenant's canonical domain (…auth0.com), not a custom domain`;
    case "rate_limited":
    case "server_error":
      return "try again shortly; if it persists, see https://status.auth0.com";
    case "insecure_url":
    case "bad_answer":
    case "refused":
    case "other":
      return checkSettings;
    default: {
      const unhandled: never = reason;
      throw new Error(`no fix for the token failure ${String(unhandled)}`);
    }
  }
}

/**
 * One section per tenant: its token, scopes and DCR. With several tenants every line names its
 * tenant ("prod: Auth0 token"), so a broken one is named.
 */
export async function checkAuth0(config: Config, timeoutMs: number): Promise<CheckResult[]> {
  const several = config.tenants.length > 1;
  const sections = await Promise.all(
    config.tenants.map(async (tenant) => {
      const results = await checkTenant(config, tenant, timeoutMs);
      return several ? results.map((r) => ({ ...r, name: `${tenant.name}: ${r.name}` })) : results;
    }),
  );
  return sections.flat();
}

async function checkTenant(
  config: Config,
  tenant: TenantConfig,
  timeoutMs: number,
): Promise<CheckResult[]> {
  const transport = createTransport({ timeoutMs, connections: 2 });
  try {
    const tokens = new TokenProvider({
      baseUrl: tenant.baseUrl,
      clientId: tenant.clientId,
      credential: tenant.credential,
      audience: tenant.audience,
      transport,
      timeoutMs,
    });
    let granted: string[];
    try {
      granted = await tokens.scopes();
    } catch (err) {
      const reason = "no Management API token";
      return [
        fail(CHECK.token, errorInWords(err), tokenFix(err, tenant, settingNames(config, tenant))),
        ...AUTH0_SCOPES.map((s) => skip(`Auth0 scope ${s.scope}`, reason)),
        skip(CHECK.dcr, reason),
      ];
    }
    const results: CheckResult[] = [
      ok(
        CHECK.token,
        `got a Management API token from ${tenant.domain} for ${tenant.audience} with ${describeCredential(tenant.credential)}`,
      ),
    ];
    for (const { scope, purpose, required, without } of AUTH0_SCOPES) {
      const name = `Auth0 scope ${scope}`;
      const grant = `${MANAGEMENT_API_GRANTS} → the application with client id ${tenant.clientId} → tick ${scope}`;
      if (granted.includes(scope)) results.push(ok(name, `granted (${purpose})`));
      else if (required) {
        results.push(fail(name, `the token lacks ${scope}, needed for ${purpose}`, grant));
      } else {
        results.push(warn(name, `the token lacks ${scope}, so ${without}`, grant));
      }
    }
    if (!granted.includes("read:tenant_settings")) {
      results.push(skip(CHECK.dcr, "the token lacks read:tenant_settings"));
      return results;
    }
    const management = new ManagementClient({
      baseUrl: tenant.baseUrl,
      tokens,
      transport,
      limiter: new RateLimiter({ perSecond: tenant.maxRequestsPerSecond ?? 2 }),
    });
    results.push(await checkDynamicClientRegistration(management));
    return results;
  } finally {
    await transport.close().catch(() => undefined);
  }
}

async function checkDynamicClientRegistration(management: ManagementClient): Promise<CheckResult> {
  let on: unknown;
  try {
    on = (await management.getTenantSettings()).flags?.enable_dynamic_client_registration;
  } catch (err) {
    const scope = err instanceof ManagementApiError && err.status === 403;
    return warn(
      CHECK.dcr,
      `could not read the tenant settings: ${errorInWords(err)}`,
      scope
        ? `${MANAGEMENT_API_GRANTS} → tick read:tenant_settings`
        : "run the doctor again; the approval message will say the setting could not be read",
    );
  }
  if (on === true) return ok(CHECK.dcr, "on: promoted connections reach third-party apps");
  return warn(
    CHECK.dcr,
    "off: promotion will not make connections available to third-party (dynamically registered) applications",
    "if third-party apps should see promoted connections: Auth0 Dashboard → Settings → Advanced → Dynamic Client Registration",
  );
}
