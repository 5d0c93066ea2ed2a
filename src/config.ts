import { z } from "zod";
import { type Auth0Credential, credentialFromEnv } from "./config-credential.js";
import {
  baseUrl,
  boolean,
  duration,
  hostPortList,
  idList,
  listenAddress,
  optionalBaseUrl,
  optionalDurationOrOff,
  optionalPort,
  optionalText,
  portNumber,
  positiveInt,
  type RateLimit,
  rate,
  readableFile,
  required,
  slackChannelId,
  slackUserId,
  usergroupId,
} from "./config-fields.js";
import { redisCombinationProblems, redisSettings } from "./config-redis.js";
import {
  RESERVED_TENANT_NAMES,
  TENANT_NAME,
  type TenantConfig,
  type TenantDefaults,
  tenantFromEnv,
  tenantsFromFile,
} from "./config-tenants.js";
import type { RedisSettings } from "./redis.js";

export { isLoopbackHost, parseDuration, parseRate, type RateLimit } from "./config-fields.js";
export type { TenantConfig, TenantCredential } from "./config-tenants.js";

const envSchema = z
  .object({
    SLACK_BOT_TOKEN: required("the xoxb- bot token").regex(/^xoxb-/, "must start with xoxb-"),
    SLACK_SIGNING_SECRET: z.string().trim().optional(),
    SLACK_APP_TOKEN: z
      .string()
      .trim()
      .optional()
      .transform((v) => v || undefined)
      .refine((v) => v === undefined || v.startsWith("xapp-"), "must start with xapp-"),
    SLACK_API_URL: baseUrl("https://slack.com/api/"),
    APPROVAL_CHANNEL_ID: z
      .string()
      .trim()
      .optional()
      .transform((v) => v || undefined)
      .refine(
        (v) => v === undefined || slackChannelId.test(v),
        "must be a channel id such as C0123ABCD",
      ),
    AUDIT_CHANNEL_ID: required("a channel id such as C0123ABCD").regex(
      slackChannelId,
      "must be a channel id such as C0123ABCD",
    ),
    APPROVER_USER_IDS: idList(slackUserId, "Slack user id such as U0123ABCD"),
    APPROVER_USERGROUP_ID: usergroupId,
    REQUESTER_USER_IDS: idList(slackUserId, "Slack user id such as U0123ABCD"),
    REQUESTER_USERGROUP_ID: usergroupId,
    REQUIRED_APPROVALS: positiveInt(1),
    REQUEST_TTL: duration("24h"),
    REMIND_AFTER: optionalDurationOrOff,
    MAX_OPEN_REQUESTS_PER_USER: positiveInt(5),
    USER_RATE_LIMIT: rate("20/1m"),
    ALLOWED_TEAM_IDS: idList(/^[TE][A-Z0-9]{2,}$/, "workspace (T…) or enterprise (E…) id"),
    DRY_RUN: boolean(false),
    REQUIRE_REASON: boolean(false),
    AUDIT_RETENTION: positiveInt(10_000),
    REQUEST_RETENTION: duration("90d"),
    REFUSED_CLICK_AUDIT_WINDOW: duration("10m"),
    TENANTS_FILE: z
      .string()
      .trim()
      .optional()
      .transform((v) => v || undefined),
    AUTH0_TENANT_NAME: z
      .string()
      .trim()
      .default("default")
      .refine(
        (v) => TENANT_NAME.test(v),
        "must be lowercase letters, digits and dashes, starting with a letter",
      )
      .refine((v) => !RESERVED_TENANT_NAMES.has(v), "is a subcommand; choose another name"),
    AUTH0_DOMAIN: optionalBaseUrl(undefined),
    AUTH0_CLIENT_ID: z.string().trim().optional(),
    // The credential, exactly one of a secret and a key file: read together, key file included,
    // by credentialFromEnv (config-credential.ts); listed here with every other variable.
    AUTH0_CLIENT_SECRET: z.string().optional(),
    AUTH0_PRIVATE_KEY_FILE: z.string().optional(),
    AUTH0_PRIVATE_KEY_ID: z.string().optional(),
    AUTH0_CLIENT_ASSERTION_ALG: z.string().optional(),
    AUTH0_AUDIENCE: z.string().trim().optional(),
    AUTH0_MAX_REQUESTS_PER_SECOND: z.preprocess(
      (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
      z.coerce
        .number({ error: "must be a number of requests per second" })
        .positive("must be positive")
        .optional(),
    ),
    AUTH0_RETRY_WINDOW: duration("1h"),
    AUTH0_TIMEOUT_MS: positiveInt(10_000),
    REDIS_URL: z
      .string()
      .trim()
      .default("redis://127.0.0.1:6379")
      .refine((v) => /^rediss?:\/\//.test(v), "must start with redis:// or rediss://")
      .refine(
        (v) => !/^rediss?:\/\//.test(v) || URL.canParse(v),
        "is not a valid URL: characters such as / ? # @ : % in a password must be percent-encoded",
      ),
    REDIS_PREFIX: z
      .string()
      .trim()
      .default("promote-connection")
      .refine((v) => /^[A-Za-z0-9_.-]+$/.test(v), "may hold only letters, digits, _ . -"),
    REDIS_SENTINELS: hostPortList(26379),
    REDIS_SENTINEL_NAME: optionalText,
    REDIS_SENTINEL_PASSWORD: optionalText,
    REDIS_SENTINEL_TLS: boolean(undefined),
    REDIS_CLUSTER_NODES: hostPortList(6379),
    REDIS_TLS_CA_FILE: readableFile,
    REDIS_TLS_CERT_FILE: readableFile,
    REDIS_TLS_KEY_FILE: readableFile,
    REDIS_TLS_SERVERNAME: optionalText,
    PORT: portNumber.default(3000),
    METRICS_PORT: optionalPort,
    METRICS_HOST: listenAddress,
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
        error: "must be one of fatal, error, warn, info, debug, trace, silent",
      })
      .default("info"),
  })
  .superRefine((env, ctx) => {
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
      ctx.addIssue({
        code: "custom",
        path: ["METRICS_PORT"],
        message: `must differ from PORT (${env.PORT}): it is what keeps /metrics and /readyz off Slack's port`,
      });
    }
    if (env.METRICS_HOST !== undefined && env.METRICS_PORT === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["METRICS_HOST"],
        message: "has no effect without METRICS_PORT: set METRICS_PORT too, or remove METRICS_HOST",
      });
    }
  });

export interface Config {
  slack: {
    botToken: string;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string;
    auditChannelId: string;
  };
  /**
   * The Auth0 tenants served, each with its credentials and approval policy (approvers,
   * quorum, channel, time to live, dry run): from TENANTS_FILE, or the AUTH0_* variables.
   */
  tenants: TenantConfig[];
  /** Where the tenants came from: TENANTS_FILE's path, or undefined for the AUTH0_* variables. */
  tenantsFile: string | undefined;
  /** Who may ask; both empty means anyone in the workspace. */
  requesters: { userIds: string[]; usergroupId: string | undefined };
  policy: {
    maxOpenRequestsPerUser: number;
    /** Commands and clicks one person may send per window, counted in Redis by every replica. */
    userRateLimit: RateLimit;
    /** Workspaces (T…) and enterprises (E…) whose people may use the bot; empty means any. */
    allowedTeamIds: string[];
    /** Refused clicks by one person on one request make one audit line per window. */
    refusedAuditWindowMs: number;
  };
  /** How many audit events the Redis stream keeps. */
  auditRetention: number;
  /** How long a settled request is kept in Redis. */
  requestRetentionMs: number;
  auth0: {
    timeoutMs: number;
    /** How long an approved change keeps being tried while Auth0 is unavailable. */
    retryWindowMs: number;
  };
  /** Where Redis is and how to reach it; `prefix` is hash-tagged in a Cluster. */
  redis: RedisSettings;
  /** HTTP port: Slack's requests (HTTP mode) and /healthz; /readyz and /metrics too unless below. */
  port: number;
  /** Set from METRICS_PORT: /metrics and /readyz are served here only (with /healthz). */
  metricsListen: { port: number; host: string } | undefined;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

/** One thing wrong with the settings, and the variable to change when one is to blame. */
export interface ConfigProblem {
  variable?: string;
  text: string;
}

/**
 * Settings that are valid but probably not what was meant, in words: logged at start and shown
 * by the doctor.
 */
export function configWarnings(config: Config): { text: string; fix: string }[] {
  const warnings: { text: string; fix: string }[] = [];
  const several = config.tenants.length > 1;
  for (const tenant of config.tenants) {
    const { userIds, usergroupId } = tenant.approvers;
    const required = tenant.requiredApprovals;
    if (!usergroupId && userIds.length > 1 && required === userIds.length) {
      warnings.push({
        text: several
          ? `tenant ${tenant.name}: requiredApprovals is ${required} and exactly ${userIds.length} approvers are listed: a request made by one of them could never pass, since nobody approves their own`
          : `REQUIRED_APPROVALS is ${required} and APPROVER_USER_IDS lists exactly ${userIds.length}: a request made by one of those approvers could never pass, since nobody approves their own`,
        fix: "add an approver (or an approver user group), or lower REQUIRED_APPROVALS",
      });
    }
  }
  return warnings;
}

export class ConfigError extends Error {
  /** One line per problem, each naming its variable. */
  readonly problems: string[];

  constructor(readonly issues: ConfigProblem[]) {
    super(`invalid configuration:\n${issues.map((i) => i.text).join("\n")}`);
    this.name = "ConfigError";
    this.problems = issues.map((i) => i.text);
  }
}

/** Rules across variables, checked on the raw text so they are reported with all the others. */
function missingCombinations(env: NodeJS.ProcessEnv): ConfigProblem[] {
  const set = (name: string) => Boolean(env[name]?.trim());
  const problems: ConfigProblem[] = [];
  if (!set("SLACK_APP_TOKEN") && !set("SLACK_SIGNING_SECRET")) {
    problems.push({
      variable: "SLACK_SIGNING_SECRET",
      text: "SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
    });
  }
  if (!set("TENANTS_FILE")) {
    // One tenant from the AUTH0_* variables: the same words tenantFromEnv would use, reported
    // with every other problem even when another variable is malformed.
    const needed: [string, string][] = [
      ["AUTH0_DOMAIN", "the tenant's domain, e.g. acme.us.auth0.com"],
      ["AUTH0_CLIENT_ID", "the machine-to-machine application's client id"],
      ["APPROVAL_CHANNEL_ID", "a channel id such as C0123ABCD"],
    ];
    for (const [variable, what] of needed) {
      if (!set(variable)) problems.push({ variable, text: `${variable} is required (${what})` });
    }
    if (!set("APPROVER_USER_IDS") && !set("APPROVER_USERGROUP_ID")) {
      problems.push({
        variable: "APPROVER_USER_IDS",
        text: "APPROVER_USER_IDS or APPROVER_USERGROUP_ID must name at least one approver",
      });
    }
  }
  return problems;
}

/** Reads and validates the environment. Throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  // One tenant from the AUTH0_* variables: its credential, a secret or a key file, read here.
  const fromEnv = env.TENANTS_FILE?.trim() ? undefined : credentialFromEnv(env);
  const combinations = [
    ...missingCombinations(env),
    ...redisCombinationProblems(env),
    ...(fromEnv?.problems ?? []),
  ];
  if (!parsed.success || combinations.length > 0) {
    const problems = (parsed.error?.issues ?? []).map((issue): ConfigProblem => {
      const variable = issue.path.length > 0 ? String(issue.path[0]) : undefined;
      return { variable, text: `${variable ?? "environment"} ${issue.message}` };
    });
    // The same words twice (two rules on one variable) are one problem.
    const byText = new Map([...problems, ...combinations].map((p) => [p.text, p]));
    throw new ConfigError([...byText.values()]);
  }
  const e = parsed.data;
  const defaults: TenantDefaults = {
    approvers: { userIds: e.APPROVER_USER_IDS, usergroupId: e.APPROVER_USERGROUP_ID },
    requiredApprovals: e.REQUIRED_APPROVALS,
    approvalChannelId: e.APPROVAL_CHANNEL_ID,
    requestTtlMs: e.REQUEST_TTL,
    remindAfterMs: e.REMIND_AFTER,
    dryRun: e.DRY_RUN,
    requireReason: e.REQUIRE_REASON,
    maxRequestsPerSecond: e.AUTH0_MAX_REQUESTS_PER_SECOND,
  };
  const { tenants, problems } = e.TENANTS_FILE
    ? tenantsFromFile(e.TENANTS_FILE, env, defaults)
    : // Reached only when the credential was read without a problem.
      tenantFromEnv(fromEnv?.credential as Auth0Credential, e, defaults);
  if (problems.length > 0) throw new ConfigError(problems);
  let apiUrl = e.SLACK_API_URL.href;
  if (!apiUrl.endsWith("/")) apiUrl += "/";
  return {
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET || undefined,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl,
      auditChannelId: e.AUDIT_CHANNEL_ID,
    },
    tenants,
    tenantsFile: e.TENANTS_FILE,
    requesters: { userIds: e.REQUESTER_USER_IDS, usergroupId: e.REQUESTER_USERGROUP_ID },
    policy: {
      maxOpenRequestsPerUser: e.MAX_OPEN_REQUESTS_PER_USER,
      userRateLimit: e.USER_RATE_LIMIT,
      allowedTeamIds: e.ALLOWED_TEAM_IDS,
      refusedAuditWindowMs: e.REFUSED_CLICK_AUDIT_WINDOW,
    },
    auditRetention: e.AUDIT_RETENTION,
    requestRetentionMs: e.REQUEST_RETENTION,
    auth0: {
      timeoutMs: e.AUTH0_TIMEOUT_MS,
      retryWindowMs: e.AUTH0_RETRY_WINDOW,
    },
    redis: redisSettings(e),
    port: e.PORT,
    metricsListen:
      e.METRICS_PORT === undefined
        ? undefined
        : { port: e.METRICS_PORT, host: e.METRICS_HOST ?? "127.0.0.1" },
    logLevel: e.LOG_LEVEL,
  };
}
