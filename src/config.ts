import { z } from "zod";
import { type Auth0Credential, credentialFromEnv } from "./config-credential.js";
import {
  baseUrl,
  boolean,
  duration,
  idList,
  listenAddress,
  optionalPort,
  portNumber,
  positiveInt,
  type RateLimit,
  rate,
  required,
  slackChannelId,
  slackUserId,
  usergroupId,
} from "./config-fields.js";

export { isLoopbackHost, parseDuration, parseRate, type RateLimit } from "./config-fields.js";

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
    APPROVAL_CHANNEL_ID: required("a channel id such as C0123ABCD").regex(
      slackChannelId,
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
    MAX_OPEN_REQUESTS_PER_USER: positiveInt(5),
    USER_RATE_LIMIT: rate("20/1m"),
    ALLOWED_TEAM_IDS: idList(/^[TE][A-Z0-9]{2,}$/, "workspace (T…) or enterprise (E…) id"),
    DRY_RUN: boolean(false),
    AUDIT_RETENTION: positiveInt(10_000),
    REQUEST_RETENTION: duration("90d"),
    REFUSED_CLICK_AUDIT_WINDOW: duration("10m"),
    AUTH0_DOMAIN: baseUrl(undefined),
    AUTH0_CLIENT_ID: required("the machine-to-machine application's client id"),
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
    if (!env.APPROVER_USERGROUP_ID && env.APPROVER_USER_IDS.length > 0) {
      // The requester never approves their own request, so a quorum needs that many others.
      const others = env.APPROVER_USER_IDS.length;
      if (env.REQUIRED_APPROVALS > others) {
        ctx.addIssue({
          code: "custom",
          path: ["REQUIRED_APPROVALS"],
          message: `is ${env.REQUIRED_APPROVALS} but APPROVER_USER_IDS lists only ${others} approver(s)`,
        });
      }
    }
  });

export interface Config {
  slack: {
    botToken: string;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string;
    approvalChannelId: string;
    auditChannelId: string;
  };
  approvers: { userIds: string[]; usergroupId: string | undefined };
  /** Who may ask; both empty means anyone in the workspace. */
  requesters: { userIds: string[]; usergroupId: string | undefined };
  policy: {
    requiredApprovals: number;
    requestTtlMs: number;
    maxOpenRequestsPerUser: number;
    /** Commands and clicks one person may send per window, counted in Redis by every replica. */
    userRateLimit: RateLimit;
    /** Workspaces (T…) and enterprises (E…) whose people may use the bot; empty means any. */
    allowedTeamIds: string[];
    dryRun: boolean;
    /** Refused clicks by one person on one request make one audit line per window. */
    refusedAuditWindowMs: number;
  };
  /** How many audit events the Redis stream keeps. */
  auditRetention: number;
  /** How long a settled request is kept in Redis. */
  requestRetentionMs: number;
  auth0: {
    /** Base URL of the tenant, without a trailing slash, e.g. https://acme.us.auth0.com */
    baseUrl: string;
    clientId: string;
    /** AUTH0_CLIENT_SECRET, or AUTH0_PRIVATE_KEY_FILE (+ _ID, ALG) for private_key_jwt. */
    credential: Auth0Credential;
    audience: string;
    /** A ceiling on the pace learnt from Auth0; undefined: none. */
    maxRequestsPerSecond: number | undefined;
    timeoutMs: number;
    /** How long an approved change keeps being tried while Auth0 is unavailable. */
    retryWindowMs: number;
  };
  redis: { url: string; prefix: string };
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
  const { userIds, usergroupId } = config.approvers;
  const required = config.policy.requiredApprovals;
  if (!usergroupId && userIds.length > 1 && required === userIds.length) {
    warnings.push({
      text: `REQUIRED_APPROVALS is ${required} and APPROVER_USER_IDS lists exactly ${userIds.length}: a request made by one of those approvers could never pass, since nobody approves their own`,
      fix: "add an approver (or an approver user group), or lower REQUIRED_APPROVALS",
    });
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
  if (!set("APPROVER_USER_IDS") && !set("APPROVER_USERGROUP_ID")) {
    problems.push({
      variable: "APPROVER_USER_IDS",
      text: "APPROVER_USER_IDS or APPROVER_USERGROUP_ID must name at least one approver",
    });
  }
  return problems;
}

/** Reads and validates the environment. Throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  const { credential, problems: credentialProblems } = credentialFromEnv(env);
  const combinations = [...missingCombinations(env), ...credentialProblems];
  if (!parsed.success || !credential || combinations.length > 0) {
    const problems = (parsed.error?.issues ?? []).map((issue): ConfigProblem => {
      const variable = issue.path.length > 0 ? String(issue.path[0]) : undefined;
      return { variable, text: `${variable ?? "environment"} ${issue.message}` };
    });
    // The same words twice (two rules on one variable) are one problem.
    const byText = new Map([...problems, ...combinations].map((p) => [p.text, p]));
    throw new ConfigError([...byText.values()]);
  }
  const e = parsed.data;
  const auth0Base = e.AUTH0_DOMAIN.origin;
  let apiUrl = e.SLACK_API_URL.href;
  if (!apiUrl.endsWith("/")) apiUrl += "/";
  return {
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET || undefined,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl,
      approvalChannelId: e.APPROVAL_CHANNEL_ID,
      auditChannelId: e.AUDIT_CHANNEL_ID,
    },
    approvers: { userIds: e.APPROVER_USER_IDS, usergroupId: e.APPROVER_USERGROUP_ID },
    requesters: { userIds: e.REQUESTER_USER_IDS, usergroupId: e.REQUESTER_USERGROUP_ID },
    policy: {
      requiredApprovals: e.REQUIRED_APPROVALS,
      requestTtlMs: e.REQUEST_TTL,
      maxOpenRequestsPerUser: e.MAX_OPEN_REQUESTS_PER_USER,
      userRateLimit: e.USER_RATE_LIMIT,
      allowedTeamIds: e.ALLOWED_TEAM_IDS,
      dryRun: e.DRY_RUN,
      refusedAuditWindowMs: e.REFUSED_CLICK_AUDIT_WINDOW,
    },
    auditRetention: e.AUDIT_RETENTION,
    requestRetentionMs: e.REQUEST_RETENTION,
    auth0: {
      baseUrl: auth0Base,
      clientId: e.AUTH0_CLIENT_ID,
      credential,
      audience: e.AUTH0_AUDIENCE || `${auth0Base}/api/v2/`,
      maxRequestsPerSecond: e.AUTH0_MAX_REQUESTS_PER_SECOND,
      timeoutMs: e.AUTH0_TIMEOUT_MS,
      retryWindowMs: e.AUTH0_RETRY_WINDOW,
    },
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    port: e.PORT,
    metricsListen:
      e.METRICS_PORT === undefined
        ? undefined
        : { port: e.METRICS_PORT, host: e.METRICS_HOST ?? "127.0.0.1" },
    logLevel: e.LOG_LEVEL,
  };
}
