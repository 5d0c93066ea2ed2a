import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { type Auth0Credential, readCredential } from "./config-credential.js";
import { parseDuration, secureBaseUrl } from "./config-fields.js";
import { envRemindAfter, tenantRemindAfter } from "./config-reminders.js";

/**
 * The Auth0 tenants the bot serves: from TENANTS_FILE (YAML), or, for one tenant, from the
 * AUTH0_* variables. Every key a tenant leaves out falls back to the global variable of the same
 * meaning. Problems name the tenant and the key, never a secret's value.
 */

/** How the bot proves itself to a tenant's token endpoint: a secret, or a private key. */
export type TenantCredential = Auth0Credential;

export interface TenantConfig {
  /** Short and typeable: the first word after the subcommand when there are several. */
  name: string;
  /** Origin of the tenant's API: https://acme.us.auth0.com (http:// only for loopback). */
  baseUrl: string;
  /** The host people know it by: acme.us.auth0.com. */
  domain: string;
  audience: string;
  clientId: string;
  credential: TenantCredential;
  /** A ceiling on the pace learnt from Auth0; undefined: none. */
  maxRequestsPerSecond: number | undefined;
  approvers: { userIds: string[]; usergroupId: string | undefined };
  requiredApprovals: number;
  approvalChannelId: string;
  requestTtlMs: number;
  /** When a pending request reminds its approvers, after it was made; 0: never. */
  remindAfterMs: number;
  dryRun: boolean;
  /** Requests must give a reason (typed or in the request form); false: a reason is optional. */
  requireReason: boolean;
}

/** What a tenant inherits from the environment when it leaves a key out. */
export interface TenantDefaults {
  approvers: { userIds: string[]; usergroupId: string | undefined };
  requiredApprovals: number;
  approvalChannelId: string | undefined;
  requestTtlMs: number;
  /** REMIND_AFTER; undefined: half of each tenant's time to live. */
  remindAfterMs: number | undefined;
  dryRun: boolean;
  requireReason: boolean;
  maxRequestsPerSecond: number | undefined;
}

export const TENANT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Words a tenant may not be called, since they are subcommands (a test keeps this list in step
 * with the subcommand table).
 */
export const RESERVED_TENANT_NAMES: ReadonlySet<string> = new Set([
  "promote",
  "demote",
  "status",
  "list",
  "cancel",
  "history",
  "help",
  "enable-dcr",
  "disable-dcr",
]);

export interface TenantProblem {
  /** The variable (or TENANTS_FILE) to change. */
  variable: string;
  text: string;
}

const slackUserId = /^[UW][A-Z0-9]{2,}$/;
const slackChannelId = /^[CGD][A-Z0-9]{2,}$/;

/** One tenant as TENANTS_FILE writes it; unknown keys are refused (a typo must not pass). */
const tenantSchema = z
  .object({
    name: z
      .string({ error: "is required" })
      .regex(TENANT_NAME, "must be lowercase letters, digits and dashes, starting with a letter"),
    domain: z.string({ error: "is required (e.g. acme.us.auth0.com)" }).min(1, "is required"),
    audience: z.string({ error: "must be text" }).optional(),
    clientId: z.string({ error: "is required" }).min(1, "is required"),
    clientSecret: z.string({ error: "must be text" }).optional(),
    privateKeyFile: z.string({ error: "must be a file path" }).optional(),
    privateKeyId: z.string({ error: "must be text" }).optional(),
    privateKeyAlg: z.string({ error: "must be text" }).optional(),
    approverUserIds: z
      .array(z.string().regex(slackUserId, "must list Slack user ids such as U0123ABCD"), {
        error: "must be a list of Slack user ids, such as [U0123ABCD]",
      })
      .optional(),
    approverUsergroupId: z
      .string()
      .regex(/^S[A-Z0-9]{2,}$/, "must be a user group id such as S0123ABCD")
      .optional(),
    requiredApprovals: z
      .number({ error: "must be a number" })
      .int("must be a whole number")
      .positive("must be positive")
      .optional(),
    approvalChannelId: z
      .string()
      .regex(slackChannelId, "must be a channel id such as C0123ABCD")
      .optional(),
    requestTtl: z.string({ error: "must be a duration such as 24h, 30m or 45s" }).optional(),
    remindAfter: z
      .union([z.string(), z.literal(0)], {
        error: "must be a duration such as 12h, 30m or 45s, or 0 to turn reminders off",
      })
      .optional(),
    dryRun: z.boolean({ error: "must be true or false" }).optional(),
    requireReason: z.boolean({ error: "must be true or false" }).optional(),
    maxRequestsPerSecond: z
      .number({ error: "must be a number" })
      .positive("must be positive")
      .optional(),
  })
  .strict();

const fileSchema = z
  .object({ tenants: z.array(z.unknown()).min(1, "must list at least one tenant") })
  .strict();

/** `${VAR}` in a value is read from the environment; a missing one is a problem, not "". */
function expand(value: unknown, env: NodeJS.ProcessEnv, missing: Set<string>): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined || v === "") {
        missing.add(name);
        return "";
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => expand(v, env, missing));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, env, missing)]));
  }
  return value;
}

/** How problems with a tenant's approvers and channel are worded, by where it was configured. */
interface Wording {
  noApprovers: TenantProblem;
  tooFew: (required: number, listed: number) => TenantProblem;
  noChannel: TenantProblem;
}

/** The parts every tenant must end up with, whichever way it was configured. */
function finish(
  tenant: Omit<TenantConfig, "approvalChannelId"> & { approvalChannelId: string | undefined },
  say: Wording,
  problems: TenantProblem[],
): TenantConfig | undefined {
  const { approvers } = tenant;
  if (approvers.userIds.length === 0 && !approvers.usergroupId) {
    problems.push(say.noApprovers);
  } else if (!approvers.usergroupId && tenant.requiredApprovals > approvers.userIds.length) {
    // The requester never approves their own request, so a quorum needs that many others.
    problems.push(say.tooFew(tenant.requiredApprovals, approvers.userIds.length));
  }
  if (!tenant.approvalChannelId) {
    problems.push(say.noChannel);
    return undefined;
  }
  if (problems.length > 0) return undefined;
  return { ...tenant, approvalChannelId: tenant.approvalChannelId };
}

function origin(raw: string): { baseUrl: string; domain: string } | string {
  const url = secureBaseUrl(raw);
  if (typeof url === "string") return url;
  return { baseUrl: url.origin, domain: url.host };
}

/** Tenants from TENANTS_FILE. */
export function tenantsFromFile(
  path: string,
  env: NodeJS.ProcessEnv,
  defaults: TenantDefaults,
): { tenants: TenantConfig[]; problems: TenantProblem[] } {
  const problems: TenantProblem[] = [];
  const fail = (text: string) => ({ tenants: [], problems: [{ variable: "TENANTS_FILE", text }] });
  let document: unknown;
  try {
    document = parseYaml(readFileSync(path, "utf8"));
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === "ENOENT"
        ? "does not exist"
        : `is not valid YAML (${(err as Error).message.split("\n")[0]})`;
    return fail(`TENANTS_FILE ${path} ${why}`);
  }
  const file = fileSchema.safeParse(document);
  if (!file.success) {
    return fail(`TENANTS_FILE ${path} must hold a "tenants:" list of tenants`);
  }
  const tenants: TenantConfig[] = [];
  const seen = new Set<string>();
  file.data.tenants.forEach((raw, index) => {
    const label = (raw as { name?: unknown })?.name;
    const id = typeof label === "string" && label ? label : `#${index + 1}`;
    const at = (key: string) => ({ prefix: `tenant ${id}: ${key} ` });
    const missing = new Set<string>();
    const parsed = tenantSchema.safeParse(expand(raw, env, missing));
    for (const name of missing) {
      problems.push({
        variable: "TENANTS_FILE",
        text: `tenant ${id}: \${${name}} is not set in the environment`,
      });
    }
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const key = issue.path.length > 0 ? String(issue.path[0]) : "";
        const text =
          issue.code === "unrecognized_keys"
            ? `tenant ${id}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`
            : `${at(key).prefix}${issue.message}`;
        problems.push({ variable: "TENANTS_FILE", text });
      }
      return;
    }
    const t = parsed.data;
    if (seen.has(t.name))
      problems.push({ variable: "TENANTS_FILE", text: `tenant ${t.name}: the name is used twice` });
    seen.add(t.name);
    if (RESERVED_TENANT_NAMES.has(t.name)) {
      problems.push({
        variable: "TENANTS_FILE",
        text: `tenant ${t.name}: the name is a subcommand; choose another`,
      });
    }
    const where = origin(t.domain);
    if (typeof where === "string") {
      problems.push({ variable: "TENANTS_FILE", text: `tenant ${t.name}: domain ${where}` });
      return;
    }
    const read = readCredential(
      {
        secret: t.clientSecret,
        privateKeyFile: t.privateKeyFile,
        privateKeyId: t.privateKeyId,
        alg: t.privateKeyAlg,
      },
      {
        secret: `tenant ${t.name}: clientSecret`,
        privateKeyFile: `tenant ${t.name}: privateKeyFile`,
        privateKeyId: `tenant ${t.name}: privateKeyId`,
        alg: `tenant ${t.name}: privateKeyAlg`,
      },
    );
    if (!read.credential) {
      for (const p of read.problems) problems.push({ variable: "TENANTS_FILE", text: p.text });
      return;
    }
    let ttl = defaults.requestTtlMs;
    if (t.requestTtl !== undefined) {
      const ms = parseDuration(t.requestTtl);
      if (ms === undefined) {
        problems.push({
          variable: "TENANTS_FILE",
          text: `${at("requestTtl").prefix}must be a duration such as 24h, 30m or 45s`,
        });
        return;
      }
      ttl = ms;
    }
    const remind = tenantRemindAfter(t.name, t.remindAfter, ttl, defaults.remindAfterMs);
    if (typeof remind !== "number") {
      problems.push(remind);
      return;
    }
    const approvers =
      t.approverUserIds !== undefined || t.approverUsergroupId !== undefined
        ? { userIds: t.approverUserIds ?? [], usergroupId: t.approverUsergroupId }
        : defaults.approvers;
    const inFile = (text: string): TenantProblem => ({
      variable: "TENANTS_FILE",
      text: `tenant ${t.name}: ${text}`,
    });
    const done = finish(
      {
        name: t.name,
        ...where,
        audience: t.audience || `${where.baseUrl}/api/v2/`,
        clientId: t.clientId,
        credential: read.credential,
        maxRequestsPerSecond: t.maxRequestsPerSecond ?? defaults.maxRequestsPerSecond,
        approvers,
        requiredApprovals: t.requiredApprovals ?? defaults.requiredApprovals,
        approvalChannelId: t.approvalChannelId ?? defaults.approvalChannelId,
        requestTtlMs: ttl,
        remindAfterMs: remind,
        dryRun: t.dryRun ?? defaults.dryRun,
        requireReason: t.requireReason ?? defaults.requireReason,
      },
      {
        noApprovers: inFile(
          "approverUserIds or approverUsergroupId must name at least one approver (or set APPROVER_USER_IDS or APPROVER_USERGROUP_ID)",
        ),
        tooFew: (required, listed) =>
          inFile(`requiredApprovals is ${required} but only ${listed} approver(s) are listed`),
        noChannel: inFile(
          "approvalChannelId is required (a channel id such as C0123ABCD), or set APPROVAL_CHANNEL_ID",
        ),
      },
      problems,
    );
    if (done) tenants.push(done);
  });
  return { tenants, problems };
}

/** The one tenant of the AUTH0_* variables. */
export function tenantFromEnv(
  credential: Auth0Credential,
  e: {
    AUTH0_TENANT_NAME: string;
    AUTH0_DOMAIN?: URL | undefined;
    AUTH0_CLIENT_ID?: string | undefined;
    AUTH0_AUDIENCE?: string | undefined;
  },
  defaults: TenantDefaults,
): { tenants: TenantConfig[]; problems: TenantProblem[] } {
  const problems: TenantProblem[] = [];
  const need = (variable: string, what: string) =>
    problems.push({ variable, text: `${variable} is required (${what})` });
  if (!e.AUTH0_DOMAIN) need("AUTH0_DOMAIN", "the tenant's domain, e.g. acme.us.auth0.com");
  if (!e.AUTH0_CLIENT_ID) need("AUTH0_CLIENT_ID", "the machine-to-machine application's client id");
  const baseUrl = e.AUTH0_DOMAIN?.origin ?? "";
  const remind = envRemindAfter(defaults.requestTtlMs, defaults.remindAfterMs);
  if (typeof remind !== "number") problems.push(remind);
  const tenant = finish(
    {
      name: e.AUTH0_TENANT_NAME,
      baseUrl,
      domain: e.AUTH0_DOMAIN?.host ?? "",
      audience: e.AUTH0_AUDIENCE || `${baseUrl}/api/v2/`,
      clientId: e.AUTH0_CLIENT_ID ?? "",
      credential,
      maxRequestsPerSecond: defaults.maxRequestsPerSecond,
      approvers: defaults.approvers,
      requiredApprovals: defaults.requiredApprovals,
      approvalChannelId: defaults.approvalChannelId,
      requestTtlMs: defaults.requestTtlMs,
      remindAfterMs: typeof remind === "number" ? remind : 0,
      dryRun: defaults.dryRun,
      requireReason: defaults.requireReason,
    },
    {
      noApprovers: {
        variable: "APPROVER_USER_IDS",
        text: "APPROVER_USER_IDS or APPROVER_USERGROUP_ID must name at least one approver",
      },
      tooFew: (required, listed) => ({
        variable: "REQUIRED_APPROVALS",
        text: `REQUIRED_APPROVALS is ${required} but APPROVER_USER_IDS lists only ${listed} approver(s)`,
      }),
      noChannel: {
        variable: "APPROVAL_CHANNEL_ID",
        text: "APPROVAL_CHANNEL_ID is required (a channel id such as C0123ABCD)",
      },
    },
    problems,
  );
  return { tenants: tenant ? [tenant] : [], problems };
}
