import { ErrorCode, LogLevel, type Logger as SlackLogger, WebClient } from "@slack/web-api";
import { Agent, fetch as undiciFetch } from "undici";
import { networkFailure } from "../auth0/errors.js";
import type { Config } from "../config.js";
import { errorInWords } from "../error-words.js";
import { type CheckResult, fail, ok, skip, warn } from "./report.js";

/** Slack: the bot token works, and the bot can post in its channels (nothing is posted). */

const CHECK = { slack: "Slack" } as const;

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

/** The audit channel, and every tenant's approvals channel (once each). */
function configuredChannels(config: Config): ChannelToCheck[] {
  const byChannel = new Map<string, string[]>();
  for (const t of config.tenants) {
    byChannel.set(t.approvalChannelId, [...(byChannel.get(t.approvalChannelId) ?? []), t.name]);
  }
  const [only] = byChannel.keys();
  if (byChannel.size === 1 && only) return channelsToCheck(only, config.slack.auditChannelId);
  const where = config.tenantsFile ? "approvalChannelId in TENANTS_FILE" : "APPROVAL_CHANNEL_ID";
  const channels: ChannelToCheck[] = [...byChannel].map(([id, tenants]) => ({
    name: `Slack approvals channel for ${tenants.join(", ")}`,
    id,
    variables: where,
  }));
  if (!byChannel.has(config.slack.auditChannelId)) {
    channels.push({
      name: "Slack audit channel",
      id: config.slack.auditChannelId,
      variables: "AUDIT_CHANNEL_ID",
    });
  }
  return channels;
}

export function slackNames(env: NodeJS.ProcessEnv): string[] {
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

export async function checkSlack(config: Config, timeoutMs: number): Promise<CheckResult[]> {
  const channels = configuredChannels(config);
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
