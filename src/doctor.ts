import { ErrorCode, LogLevel, type Logger as SlackLogger, WebClient } from "@slack/web-api";
import { Redis } from "ioredis";
import { Agent, fetch as undiciFetch } from "undici";
import { networkFailure } from "./auth0/errors.js";
import {
  createTransport,
  ManagementApiError,
  ManagementClient,
  RateLimiter,
  TokenProvider,
  TokenRequestError,
} from "./auth0/index.js";
import { type Config, ConfigError, type ConfigProblem, loadConfig } from "./config.js";
import { errorInWords } from "./error-words.js";
import { redactSecrets } from "./log.js";

/**
 * `npm run doctor`: checks, one line each, that what the bot needs is in place — the settings,
 * Redis (reachable, noeviction, persistent), Slack (token, channels), Auth0 (token, scopes,
 * Dynamic Client Registration) — and says how to fix each problem. It reads and never writes:
 * no Slack message is posted, no Redis key is set, no connection is touched.
 */

export type CheckStatus = "ok" | "fail" | "warn" | "skip";

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorOptions {
  /** Bounds each network call (connect, answer); default 5000 ms. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

const CHECK = {
  config: "Configuration",
  redis: "Redis",
  eviction: "Redis eviction policy",
  persistence: "Redis persistence",
  slack: "Slack",
  token: "Auth0 token",
  dcr: "Dynamic Client Registration",
} as const;

/** What each Management API scope is for, in the order they are checked. */
const AUTH0_SCOPES = [
  { scope: "read:connections", purpose: "look connections up", required: true },
  { scope: "update:connections", purpose: "the PATCH that promotes", required: true },
  {
    scope: "read:tenant_settings",
    purpose: "read whether Dynamic Client Registration is on",
    required: false,
  },
] as const;

const MANAGEMENT_API_GRANTS =
  "Auth0 Dashboard → Applications → APIs → Auth0 Management API → Machine to Machine Applications";

const ok = (name: string, detail: string): CheckResult => ({ name, status: "ok", detail });
const warn = (name: string, detail: string, fix?: string): CheckResult => ({
  name,
  status: "warn",
  detail,
  ...(fix ? { fix } : {}),
});
const fail = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: "fail",
  detail,
  fix,
});
const skip = (name: string, reason: string): CheckResult => ({
  name,
  status: "skip",
  detail: `skipped: ${reason}`,
});

/** Runs every check; never throws, never hangs (each call is bounded by `timeoutMs`). */
export async function runDoctor(
  env: NodeJS.ProcessEnv,
  opts: DoctorOptions = {},
): Promise<CheckResult[]> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const scrub = secretScrubber(env);

  let config: Config | undefined;
  let configResults: CheckResult[];
  try {
    config = loadConfig(env);
    configResults = [ok(CHECK.config, describeConfig(config))];
  } catch (err) {
    const problems: ConfigProblem[] =
      err instanceof ConfigError ? err.issues : [{ text: errorInWords(err) }];
    configResults = problems.map(({ variable, text }) =>
      fail(
        CHECK.config,
        text,
        variable
          ? `set ${variable} in the environment or in .env (see .env.example)`
          : "fix the environment or .env (see .env.example)",
      ),
    );
  }

  let results: CheckResult[];
  if (!config) {
    const reason = "the configuration is invalid";
    results = [
      ...configResults,
      ...redisNames().map((name) => skip(name, reason)),
      ...slackNames(env).map((name) => skip(name, reason)),
      ...auth0Names().map((name) => skip(name, reason)),
    ];
  } else {
    // The three services are independent: ask them at once, so an unreachable one costs one
    // timeout, not three. A group that overruns its deadline still yields its lines.
    const deadlineMs = timeoutMs * 4 + 1_000;
    const cfg = config;
    const [redis, slack, auth0] = await Promise.all([
      guarded(redisNames(), deadlineMs, () => checkRedis(cfg, timeoutMs)),
      guarded(slackNames(env), deadlineMs, () => checkSlack(cfg, timeoutMs)),
      guarded(auth0Names(), deadlineMs, () => checkAuth0(cfg, timeoutMs)),
    ]);
    results = [...configResults, ...redis, ...slack, ...auth0];
  }
  return results.map((r) => ({
    ...r,
    detail: scrub(r.detail),
    ...(r.fix === undefined ? {} : { fix: scrub(r.fix) }),
  }));
}

const SYMBOL: Record<CheckStatus, string> = { ok: "✓", fail: "✗", warn: "!", skip: "-" };

/** One line per check (and an indented `fix:` line under each that has one), then a summary. */
export function formatReport(results: CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${SYMBOL[r.status]} ${r.name}: ${r.detail}`);
    if (r.fix && r.status !== "ok") lines.push(`    fix: ${r.fix}`);
  }
  lines.push(summary(results));
  return lines.join("\n");
}

function summary(results: CheckResult[]): string {
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const failed = count("fail");
  const warnings = count("warn");
  const skipped = count("skip");
  const total = results.length;
  if (failed === 0 && warnings === 0 && skipped === 0) {
    return `All ${total} checks passed: promote-connection is ready to run.`;
  }
  const parts = [
    `${count("ok")} ok`,
    `${failed} failed`,
    `${warnings} ${warnings === 1 ? "warning" : "warnings"}`,
    `${skipped} skipped`,
  ];
  const verdict =
    failed > 0
      ? "fix the ✗ lines above and run the doctor again."
      : "promote-connection can run; read the ! lines above.";
  return `${total} checks: ${parts.join(", ")}: ${verdict}`;
}

/** 1 when any check failed (warnings and skips alone do not fail), else 0. */
export function doctorExitCode(results: CheckResult[]): number {
  return results.some((r) => r.status === "fail") ? 1 : 0;
}

/** Runs the checks and prints the report, line by line; returns the process exit code. */
export async function doctorMain(
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
  opts: DoctorOptions = {},
): Promise<number> {
  const results = await runDoctor(env, opts);
  for (const line of formatReport(results).split("\n")) out(line);
  return doctorExitCode(results);
}

// ---------------------------------------------------------------------------------------------
// Configuration

function describeConfig(config: Config): string {
  const mode = config.slack.appToken ? "Socket Mode" : `HTTP mode on port ${config.port}`;
  const { userIds, usergroupId } = config.approvers;
  const approvers = [
    userIds.length > 0 ? `${userIds.length} ${userIds.length === 1 ? "user" : "users"}` : "",
    usergroupId ? `user group ${usergroupId}` : "",
  ]
    .filter(Boolean)
    .join(" and ");
  return `valid (${mode}; approvers: ${approvers})`;
}

/** Replaces every secret the environment holds, and anything shaped like one, in `text`. */
function secretScrubber(env: NodeJS.ProcessEnv): (text: string) => string {
  const secrets = [
    env.SLACK_BOT_TOKEN,
    env.SLACK_SIGNING_SECRET,
    env.SLACK_APP_TOKEN,
    env.AUTH0_CLIENT_SECRET,
    redisPassword(env.REDIS_URL),
  ]
    .map((s) => s?.trim())
    .filter((s): s is string => typeof s === "string" && s.length >= 4)
    // Longest first, so a secret that contains another is replaced whole.
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join("[REDACTED]");
    return redactSecrets(out);
  };
}

// ---------------------------------------------------------------------------------------------
// Redis

function redisNames(): string[] {
  return [CHECK.redis, CHECK.eviction, CHECK.persistence];
}

function redisPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/** REDIS_URL fit to print: the password, if any, is masked. */
function printableRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "REDIS_URL";
  }
}

/** `INFO <section>` as key → value. */
function parseInfo(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/**
 * Why Redis could not be used. ioredis gives its parser's and the server's errors as text only
 * (no codes), so their words are read here, where the error arrives: Redis's NOAUTH and
 * WRONGPASS replies, older servers' "invalid password", the parser's "Protocol error".
 */
function redisFailure(cause: unknown, timeoutMs: number): { reason: string; auth: boolean } {
  const network = networkFailure(cause, timeoutMs);
  if (network) return { reason: network.reason, auth: false };
  const said = errorInWords(cause);
  if (/Unknown RESP type|Protocol error/i.test(said)) {
    return {
      reason: "something that is not Redis answered there (check the host and port)",
      auth: false,
    };
  }
  return { reason: said, auth: /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(said) };
}

async function checkRedis(config: Config, timeoutMs: number): Promise<CheckResult[]> {
  const where = printableRedisUrl(config.redis.url);
  const redis = new Redis(config.redis.url, {
    connectionName: "promote-connection:doctor",
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    // One attempt: the doctor reports an unreachable Redis, it does not wait for it.
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // ioredis waits this long for a socket that already failed to say it closed (default 2 s),
    // which would keep the process alive after the report.
    disconnectTimeout: 200,
  });
  // connect() only says "Connection is closed."; the 'error' event says why. Unhandled, that
  // event would crash the process.
  let socketError: unknown;
  redis.on("error", (err: unknown) => {
    socketError = err;
  });
  try {
    let version: string | undefined;
    try {
      await redis.connect();
      version = parseInfo(await redis.info("server")).get("redis_version");
    } catch (err) {
      const failure = redisFailure(socketError ?? err, timeoutMs);
      return [
        fail(
          CHECK.redis,
          `not reachable at ${where}: ${failure.reason}`,
          failure.auth
            ? "put the right user and password in REDIS_URL (redis://user:password@host:6379)"
            : "start Redis, or set REDIS_URL to a Redis this host can reach",
        ),
        skip(CHECK.eviction, "Redis is not reachable"),
        skip(CHECK.persistence, "Redis is not reachable"),
      ];
    }
    return [
      ok(CHECK.redis, `reachable at ${where}${version ? ` (Redis ${version})` : ""}`),
      await checkEviction(redis),
      await checkPersistence(redis),
    ];
  } finally {
    redis.disconnect();
  }
}

async function checkEviction(redis: Redis): Promise<CheckResult> {
  const fix = "set maxmemory-policy noeviction (BullMQ needs it)";
  let policy: string | undefined;
  try {
    // INFO, not CONFIG GET: managed Redis services often disable CONFIG.
    policy = parseInfo(await redis.info("memory")).get("maxmemory_policy");
  } catch (err) {
    return warn(CHECK.eviction, `could not tell: INFO memory failed (${errorInWords(err)})`, fix);
  }
  if (policy === undefined) {
    return warn(CHECK.eviction, "could not tell: INFO memory has no maxmemory_policy", fix);
  }
  if (policy === "noeviction") return ok(CHECK.eviction, "noeviction");
  return fail(
    CHECK.eviction,
    `maxmemory-policy is ${policy}: when memory runs short Redis would delete queued promotions and requests`,
    fix,
  );
}

async function checkPersistence(redis: Redis): Promise<CheckResult> {
  const fix =
    "appendonly yes (in redis.conf, or CONFIG SET appendonly yes then CONFIG REWRITE; on a managed Redis, turn persistence on)";
  let aof: string | undefined;
  try {
    aof = parseInfo(await redis.info("persistence")).get("aof_enabled");
  } catch (err) {
    return warn(
      CHECK.persistence,
      `could not tell: INFO persistence failed (${errorInWords(err)})`,
      fix,
    );
  }
  if (aof === "1") return ok(CHECK.persistence, "on (appendonly yes)");
  // RDB snapshots are configuration, not state: only CONFIG GET shows them.
  let save: string | undefined;
  try {
    const answer: unknown[] = await redis.config("GET", "save");
    save = typeof answer[1] === "string" ? answer[1] : undefined;
  } catch {
    return warn(
      CHECK.persistence,
      "could not tell: AOF is off and CONFIG GET save is not allowed here, so RDB snapshots are unknown",
      fix,
    );
  }
  if (save === undefined) {
    return warn(CHECK.persistence, "could not tell: CONFIG GET save gave no answer", fix);
  }
  if (save.trim() !== "") {
    return ok(
      CHECK.persistence,
      `on (RDB snapshots: save ${save}; appendonly yes would lose less on a crash)`,
    );
  }
  return fail(
    CHECK.persistence,
    "off (no AOF, no RDB snapshots): a Redis restart would lose every pending request and queued promotion",
    fix,
  );
}

// ---------------------------------------------------------------------------------------------
// Slack

interface ChannelToCheck {
  name: string;
  id: string;
  variables: string;
}

function channelsToCheck(approvalId: string, auditId: string): ChannelToCheck[] {
  if (approvalId === auditId) {
    return [
      {
        name: "Slack approvals and audit channel",
        id: approvalId,
        variables: "APPROVAL_CHANNEL_ID and AUDIT_CHANNEL_ID",
      },
    ];
  }
  return [
    { name: "Slack approvals channel", id: approvalId, variables: "APPROVAL_CHANNEL_ID" },
    { name: "Slack audit channel", id: auditId, variables: "AUDIT_CHANNEL_ID" },
  ];
}

function slackNames(env: NodeJS.ProcessEnv): string[] {
  const approval = env.APPROVAL_CHANNEL_ID?.trim() ?? "";
  const audit = env.AUDIT_CHANNEL_ID?.trim() ?? "";
  return [CHECK.slack, ...channelsToCheck(approval, audit).map((c) => c.name)];
}

/** The Web API client logs nothing: every failure is reported as a check line instead. */
const silentSlackLogger: SlackLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

interface SlackFailure {
  /** Slack's `error` for a platform error (invalid_auth, missing_scope, …). */
  code?: string;
  /** Slack's `needed` scope, for missing_scope. */
  needed?: string;
  /** The call got no answer (network, timeout). */
  network: boolean;
  reason: string;
}

function slackFailure(err: unknown, apiUrl: string, timeoutMs: number): SlackFailure {
  const e = err as {
    code?: string;
    data?: { error?: string; needed?: string };
    original?: unknown;
    statusCode?: number;
    retryAfter?: number;
  };
  if (e.code === ErrorCode.PlatformError && e.data?.error) {
    return { code: e.data.error, needed: e.data.needed, network: false, reason: e.data.error };
  }
  if (e.code === ErrorCode.RequestError) {
    const failure = networkFailure(e.original, timeoutMs);
    const host = safeHost(apiUrl);
    return {
      network: true,
      reason: `could not reach Slack at ${host}: ${failure?.reason ?? errorInWords(e.original)}`,
    };
  }
  if (e.code === ErrorCode.HTTPError) {
    return { network: false, reason: `Slack answered HTTP ${e.statusCode}` };
  }
  if (e.code === ErrorCode.RateLimitedError) {
    return { network: false, reason: `Slack is rate limiting; retry in ${e.retryAfter} s` };
  }
  const failure = networkFailure(err, timeoutMs);
  if (failure) return { network: true, reason: `could not reach Slack: ${failure.reason}` };
  return { network: false, reason: errorInWords(err) };
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "SLACK_API_URL";
  }
}

const BAD_TOKEN = new Set([
  "invalid_auth",
  "not_authed",
  "token_revoked",
  "token_expired",
  "account_inactive",
  "no_permission",
  "not_allowed_token_type",
]);

async function checkSlack(config: Config, timeoutMs: number): Promise<CheckResult[]> {
  const channels = channelsToCheck(config.slack.approvalChannelId, config.slack.auditChannelId);
  // Its own connection pool, closed when done: the global fetch's idle keep-alive sockets
  // would hold the process open for seconds after the report is printed.
  const agent = new Agent({
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  try {
    const client = new WebClient(config.slack.botToken, {
      slackApiUrl: config.slack.apiUrl,
      logger: silentSlackLogger,
      timeout: timeoutMs,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      // undici 7's own fetch with its own Agent (never a v7 dispatcher on Node 20's global fetch).
      fetch: (url, init) =>
        undiciFetch(url, {
          ...(init as Parameters<typeof undiciFetch>[1]),
          dispatcher: agent,
        }) as unknown as Promise<Response>,
    });
    return await slackChecks(client, config, channels, timeoutMs);
  } finally {
    await agent.close().catch(() => undefined);
  }
}

async function slackChecks(
  client: WebClient,
  config: Config,
  channels: ChannelToCheck[],
  timeoutMs: number,
): Promise<CheckResult[]> {
  let botName: string;
  let authLine: CheckResult;
  try {
    const auth = await client.auth.test();
    botName = auth.user ?? "promote-connection";
    const team = auth.team ? `"${auth.team}" (${auth.team_id ?? "?"})` : (auth.team_id ?? "?");
    authLine = ok(
      CHECK.slack,
      `auth.test ok: bot @${botName} (${auth.user_id ?? "?"}) in team ${team}`,
    );
  } catch (err) {
    const failure = slackFailure(err, config.slack.apiUrl, timeoutMs);
    let fix: string;
    if (failure.code && BAD_TOKEN.has(failure.code)) {
      fix =
        "check SLACK_BOT_TOKEN: copy the Bot User OAuth Token (xoxb-…) from the Slack app's OAuth & Permissions page; if the app was uninstalled or the token revoked, reinstall the app and copy the new one";
    } else if (failure.network) {
      fix = `check SLACK_API_URL (now ${config.slack.apiUrl}) and that this host can reach it (proxy, firewall)`;
    } else {
      fix = "see https://api.slack.com/methods/auth.test for what this error means";
    }
    const detail = failure.code
      ? `auth.test failed (${failure.code})`
      : `auth.test failed: ${failure.reason}`;
    return [
      fail(CHECK.slack, detail, fix),
      ...channels.map((c) =>
        skip(c.name, failure.network ? "Slack is not reachable" : "Slack refused the bot token"),
      ),
    ];
  }

  const channelLines = await Promise.all(
    channels.map((c) => checkChannel(client, c, botName, config.slack.apiUrl, timeoutMs)),
  );
  return [authLine, ...channelLines];
}

/** Can the bot post there? Asks conversations.info for `is_member`; posts nothing. */
async function checkChannel(
  client: WebClient,
  channel: ChannelToCheck,
  botName: string,
  apiUrl: string,
  timeoutMs: number,
): Promise<CheckResult> {
  const { name, id, variables } = channel;
  const invite = (label: string) => `invite the bot: type /invite @${botName} in ${label}`;
  try {
    const info = await client.conversations.info({ channel: id });
    const c = info.channel;
    const label = c?.name ? `#${c.name} (${id})` : id;
    if (c?.is_archived) {
      return fail(
        name,
        `${label} is archived`,
        `unarchive it, or set ${variables} to another channel`,
      );
    }
    if (c?.is_im) return ok(name, `${label} is a direct message with the bot`);
    if (c?.is_member === true)
      return ok(name, `the bot is a member of ${label} and can post there`);
    if (c?.is_member === false) {
      return fail(
        name,
        `the bot is not a member of ${label}, so it cannot post there`,
        invite(label),
      );
    }
    return warn(name, `could not tell whether the bot is a member of ${label}`, invite(label));
  } catch (err) {
    const failure = slackFailure(err, apiUrl, timeoutMs);
    if (failure.code === "missing_scope") {
      const needed = failure.needed ?? "channels:read";
      return fail(
        name,
        `conversations.info failed (missing_scope): the Slack app lacks the ${needed} scope, so whether the bot is in ${id} cannot be checked`,
        `add the ${needed} bot scope (channels:read for public channels, groups:read for private ones) to oauth_config.scopes.bot in manifest.json, update the app from the manifest and reinstall it`,
      );
    }
    if (failure.code === "channel_not_found") {
      return fail(
        name,
        `channel ${id} was not found (a private channel the bot is not in looks the same)`,
        `check ${variables} (channel details → About → Channel ID); for a private channel, ${invite(`the channel ${id}`)}`,
      );
    }
    const detail = failure.code
      ? `conversations.info failed (${failure.code})`
      : `conversations.info failed: ${failure.reason}`;
    return fail(
      name,
      detail,
      failure.network
        ? `check SLACK_API_URL (now ${apiUrl}) and that this host can reach it`
        : `see https://api.slack.com/methods/conversations.info; check ${variables}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Auth0

function auth0Names(): string[] {
  return [CHECK.token, ...AUTH0_SCOPES.map((s) => `Auth0 scope ${s.scope}`), CHECK.dcr];
}

const CHECK_AUTH0_SETTINGS =
  "check AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and AUTH0_AUDIENCE";

/** Where to look in the Auth0 Dashboard for each way a token request can fail. */
function tokenFix(err: unknown, config: Config): string {
  if (!(err instanceof TokenRequestError)) return CHECK_AUTH0_SETTINGS;
  const app = `the application with client id ${config.auth0.clientId}`;
  const { reason } = err;
  switch (reason) {
    case "unreachable":
      return "check AUTH0_DOMAIN (the tenant's canonical domain, e.g. acme.us.auth0.com) and that this host can reach it (proxy, firewall)";
    case "invalid_client":
      return `check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET: Auth0 Dashboard → Applications → Applications → ${app} → Settings`;
    case "unknown_audience":
      return `set AUTH0_AUDIENCE to the Management API identifier ${config.auth0.baseUrl}/api/v2/ (trailing slash included), or leave it unset`;
    case "not_authorized_for_api":
      return `${MANAGEMENT_API_GRANTS} → authorize ${app}`;
    case "grant_type_not_allowed":
      return `Auth0 Dashboard → Applications → Applications → ${app} → Advanced Settings → Grant Types → tick Client Credentials`;
    case "issuer_mismatch":
      return "set AUTH0_DOMAIN to the tenant's canonical domain (…auth0.com), not a custom domain";
    case "rate_limited":
    case "server_error":
      return "try again shortly; if it persists, see https://status.auth0.com";
    case "insecure_url":
    case "bad_answer":
    case "refused":
    case "other":
      return CHECK_AUTH0_SETTINGS;
    default: {
      const unhandled: never = reason;
      throw new Error(`no fix for the token failure ${String(unhandled)}`);
    }
  }
}

async function checkAuth0(config: Config, timeoutMs: number): Promise<CheckResult[]> {
  const { auth0 } = config;
  const transport = createTransport({ timeoutMs, connections: 2 });
  try {
    const tokens = new TokenProvider({
      baseUrl: auth0.baseUrl,
      clientId: auth0.clientId,
      clientSecret: auth0.clientSecret,
      audience: auth0.audience,
      transport,
      timeoutMs,
    });
    let granted: string[];
    try {
      granted = await tokens.scopes();
    } catch (err) {
      const reason = "no Management API token";
      return [
        fail(CHECK.token, errorInWords(err), tokenFix(err, config)),
        ...AUTH0_SCOPES.map((s) => skip(`Auth0 scope ${s.scope}`, reason)),
        skip(CHECK.dcr, reason),
      ];
    }
    const host = new URL(auth0.baseUrl).host;
    const results: CheckResult[] = [
      ok(CHECK.token, `got a Management API token from ${host} for ${auth0.audience}`),
    ];
    for (const { scope, purpose, required } of AUTH0_SCOPES) {
      const name = `Auth0 scope ${scope}`;
      const grant = `${MANAGEMENT_API_GRANTS} → the application with client id ${auth0.clientId} → tick ${scope}`;
      if (granted.includes(scope)) results.push(ok(name, `granted (${purpose})`));
      else if (required) {
        results.push(fail(name, `the token lacks ${scope}, needed for ${purpose}`, grant));
      } else {
        results.push(
          warn(
            name,
            `the token lacks ${scope}, so the bot cannot tell whether Dynamic Client Registration is on`,
            grant,
          ),
        );
      }
    }
    if (!granted.includes("read:tenant_settings")) {
      results.push(skip(CHECK.dcr, "the token lacks read:tenant_settings"));
      return results;
    }
    const management = new ManagementClient({
      baseUrl: auth0.baseUrl,
      tokens,
      transport,
      limiter: new RateLimiter({ perSecond: auth0.maxRequestsPerSecond }),
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

// ---------------------------------------------------------------------------------------------

/**
 * Runs a group of checks; if it throws or overruns `deadlineMs`, its first line fails with the
 * reason and the others are skipped, so the report always has the same lines.
 */
async function guarded(
  names: string[],
  deadlineMs: number,
  run: () => Promise<CheckResult[]>,
): Promise<CheckResult[]> {
  const [first = "check", ...rest] = names;
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<CheckResult[]>((resolve) => {
    timer = setTimeout(() => {
      resolve([
        fail(
          first,
          `no answer within ${Math.round(deadlineMs / 1000)} s`,
          "check the network between this host and the service",
        ),
        ...rest.map((name) => skip(name, `${first} did not answer`)),
      ]);
    }, deadlineMs);
    timer.unref();
  });
  try {
    return await Promise.race([run(), overrun]);
  } catch (err) {
    return [
      fail(first, `the check itself failed: ${errorInWords(err)}`, "report this as a bug"),
      ...rest.map((name) => skip(name, `${first} could not be checked`)),
    ];
  } finally {
    clearTimeout(timer);
  }
}
