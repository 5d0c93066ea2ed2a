/**
 * What every measurement works with: the emulators, Redis and the queues, the bots it starts,
 * and the steps they all take (make requests, click Approve, wait for promotions and queues).
 */
import type { Queue } from "bullmq";
import { request } from "undici";
import type { RedisClient } from "../../redis.js";
import { FINAL_STATES, type RequestState } from "../../requests/model.js";
import type { RequestStore } from "../../requests/store.js";
import type { EmulatedConnection } from "../emulators/auth0/index.js";
import { blockActionPayload, slashCommandBody } from "../emulators/slack-requests.js";
import { type ChildGroup, DIST_MAIN, type NodeChild } from "../harness/children.js";
import { pollUntil } from "../harness/poll.js";
import { freeLoopbackPort } from "../harness/ports.js";
import {
  APPROVALS,
  APPROVER,
  AUDIT,
  CREATE_MS,
  GENERAL,
  NODE_ARGS,
  READY_MS,
  SIGNING_SECRET,
  TEAM_ID,
  UNPACED_RATE,
} from "./config.js";
import type { ApiCall, ApprovalMessage, EmulatorInfo } from "./emulator-thread.js";
import { type Emulators, epochNow } from "./emulators.js";
import { type Report, sec } from "./report.js";
import { type Answer, agent, burst, expectOk, signed, warmUp } from "./traffic.js";

export interface World {
  emu: Emulators;
  info: EmulatorInfo;
  redisUrl: string;
  prefix: string;
  store: RequestStore;
  redis: RedisClient;
  queues: Queue[];
  /** The bots' working directory. */
  cwd: string;
  connections: EmulatedConnection[];
  children: ChildGroup;
  report: Report;
  /** What the run cost Auth0, for section 7. */
  auth0Cost: Auth0Tally;
}

/** Every batch of requests made, with the Management API calls it took; bot processes started. */
export interface Auth0Tally {
  batches: Array<{ requests: number; calls: ApiCall[] }>;
  botsStarted: number;
  /** Tokens the peer (row 3d, not a bot) fetched from the same tenant. */
  peerTokens: number;
}

/** A bot process and the port it serves HTTP on. */
export type Bot = NodeChild & { port: number };

export function connection(i: number): EmulatedConnection {
  return {
    id: `con_Bench${String(i).padStart(11, "0")}`,
    name: `bench-${i}`,
    display_name: `Bench ${i}`,
    strategy: "auth0",
    is_domain_connection: false,
  };
}

export const requester = (i: number) => `UBREQ${String(i).padStart(5, "0")}`;

export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** Polls `check` every `everyMs` until it returns something, or throws after `timeoutMs`. */
export function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  everyMs = 50,
): Promise<T> {
  return pollUntil(check, {
    timeoutMs,
    everyMs,
    timedOut: () => new Error(`timed out after ${sec(timeoutMs)} waiting for ${what}`),
  });
}

function botEnv(world: World, port: number, extra: Record<string, string> = {}) {
  return {
    SLACK_BOT_TOKEN: world.info.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: world.info.slackApiUrl,
    APPROVAL_CHANNEL_ID: APPROVALS,
    AUDIT_CHANNEL_ID: AUDIT,
    APPROVER_USER_IDS: APPROVER,
    AUTH0_DOMAIN: world.info.auth0Url,
    AUTH0_CLIENT_ID: world.info.clientId,
    AUTH0_CLIENT_SECRET: world.info.clientSecret,
    AUTH0_MAX_REQUESTS_PER_SECOND: String(UNPACED_RATE),
    // The bench's approver clicks 200 times at once: measure the bot, not the per-person limit.
    USER_RATE_LIMIT: "100000/1m",
    REDIS_URL: world.redisUrl,
    REDIS_PREFIX: world.prefix,
    PORT: String(port),
    LOG_LEVEL: "warn",
    ...extra,
  };
}

/** `node dist/main.js --role <role>`, as production runs it; resolves once GET /readyz is 200. */
export async function startBot(
  world: World,
  name: string,
  role: string,
  extra: Record<string, string> = {},
): Promise<Bot> {
  const port = await freeLoopbackPort();
  world.auth0Cost.botsStarted++;
  const child = world.children.spawn(name, [...NODE_ARGS, DIST_MAIN, "--role", role], {
    env: botEnv(world, port, extra),
    cwd: world.cwd,
    keepOutput: 64 * 1024,
  });
  const base = `http://127.0.0.1:${port}`;
  let gone = false;
  void child.exited().then(() => {
    gone = true;
  });
  try {
    await until(`${name} to be ready (GET /readyz)`, READY_MS, async () => {
      if (gone) throw new Error(`${name} exited during start-up`);
      try {
        const res = await request(`${base}/readyz`, { dispatcher: agent });
        await res.body.dump();
        return res.statusCode === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    });
  } catch (err) {
    const tail = child.output().trim().split("\n").slice(-15).join("\n");
    await child.stop();
    throw new Error(`${(err as Error).message}; it printed:\n${tail || "(nothing)"}`);
  }
  return Object.assign(child, { port });
}

/** Sends commands for these connections at once and waits for their approval messages. */
export async function createRequests(
  world: World,
  bot: Bot,
  indexes: number[],
  tag: string,
): Promise<{ approvals: ApprovalMessage[]; acks: Answer[]; lagMs: number; calls: ApiCall[] }> {
  const eventsUrl = `http://127.0.0.1:${bot.port}/slack/events`;
  const responseUrl = (i: number) => `${world.info.slackUrl}/response/bench-${tag}-${i}`;
  const command = (i: number) =>
    signed(
      slashCommandBody({
        text: `${world.connections[i]?.id} "benchmark"`,
        user_id: requester(i),
        team_id: TEAM_ID,
        channel_id: GENERAL,
        channel_name: "general",
        response_url: responseUrl(i),
      }),
    );
  await warmUp(`http://127.0.0.1:${bot.port}`, indexes.length);
  const from = await world.emu.call<number>({ op: "apiCallCount" });
  const { answers, lagMs } = await burst(eventsUrl, indexes.map(command));
  expectOk("commands", answers);

  const wanted = new Map(indexes.map((i) => [world.connections[i]?.id, i]));
  const busy = new BusyRequesters();
  try {
    const approvals = await until(
      `${indexes.length} approval messages`,
      CREATE_MS,
      async () => {
        const all = await world.emu.call<ApprovalMessage[]>({
          op: "approvals",
          channel: APPROVALS,
        });
        const mine = all.filter((a) => wanted.has(a.connectionId));
        if (mine.length >= indexes.length) return mine;
        const made = new Set(mine.map((a) => wanted.get(a.connectionId)));
        const pending = indexes.filter((i) => !made.has(i));
        const replies = await world.emu.call<string[][]>({
          op: "replies",
          urls: pending.map(responseUrl),
        });
        const again = busy.due(pending, replies);
        if (again.length > 0)
          expectOk("commands", await burst(eventsUrl, again.map(command)).then((b) => b.answers));
        return undefined;
      },
      100,
    );
    if (busy.refused.size > 0) {
      world.report.note(
        `${tag}: ${busy.refused.size} of ${indexes.length} commands were answered "Auth0 is busy, try again in N s" (the limiter's bounded lookup queue); sent again after N s, as a person would (${busy.resent} times in all).`,
      );
    }
    // Every lookup is done once its approval message is out: these are the batch's calls.
    const calls = await world.emu.call<ApiCall[]>({ op: "apiCalls", from });
    world.auth0Cost.batches.push({ requests: indexes.length, calls });
    return { approvals, acks: answers, lagMs, calls };
  } catch (err) {
    // Say why some were not created: the bot's private replies to their requesters.
    const replies = await world.emu.call<string[][]>({
      op: "replies",
      urls: indexes.map(responseUrl),
    });
    const refusals = replies.flat().filter((t) => !/Looking up|Request `req_/.test(t));
    throw new Error(
      `${(err as Error).message}${refusals[0] ? `; the bot replied e.g.: ${refusals[0].slice(0, 300)}` : ""}`,
    );
  }
}

/**
 * Requesters told "Auth0 is busy … try again in N s": lookups beyond the limiter's short queue
 * are turned away, as designed. The bench asks again once N s have passed, as a person would.
 */
class BusyRequesters {
  /** Commands sent again. */
  resent = 0;
  /** Requesters refused at least once. */
  readonly refused = new Set<number>();
  /** Per requester: replies seen when the last refusal was taken in, and when to ask again. */
  private readonly seen = new Map<number, number>();
  private readonly askAt = new Map<number, number>();

  /** Which of `pending` (with `replies`, in the same order) to send again now. */
  due(pending: number[], replies: string[][]): number[] {
    const now = performance.now();
    const again: number[] = [];
    pending.forEach((i, k) => {
      const said = replies[k] ?? [];
      const refused = /Auth0 is busy.*try again in (\d+) s/.exec(said.at(-1) ?? "");
      if (refused && (this.seen.get(i) ?? 0) < said.length) {
        this.seen.set(i, said.length);
        this.refused.add(i);
        this.askAt.set(i, now + Number(refused[1]) * 1000);
      }
      const at = this.askAt.get(i);
      if (at !== undefined && at <= now) {
        this.askAt.delete(i);
        again.push(i);
      }
    });
    this.resent += again.length;
    return again;
  }
}

export function approveClick(world: World, a: ApprovalMessage, tag: string) {
  const payload = blockActionPayload({
    user_id: APPROVER,
    user_name: "bench-approver",
    team_id: TEAM_ID,
    action_id: "approve_request",
    value: a.requestId,
    block_id: `decision_${a.requestId}`,
    response_url: `${world.info.slackUrl}/response/bench-${tag}-${a.requestId}`,
    channel_id: APPROVALS,
    message_ts: a.ts,
  });
  return signed(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
}

/** Waits until every request is DONE or FAILED; returns the states and when that was seen. */
export async function settle(
  world: World,
  ids: string[],
  timeoutMs: number,
): Promise<{ states: Map<string, RequestState>; at: number }> {
  const states = new Map<string, RequestState>();
  await until(
    `${ids.length} promotions to finish`,
    timeoutMs,
    async () => {
      const open = ids.filter((id) => !FINAL_STATES.has(states.get(id) ?? "PENDING"));
      const found = await world.store.getMany(open);
      for (const r of found) states.set(r.id, r.state);
      return ids.every((id) => FINAL_STATES.has(states.get(id) ?? "PENDING")) ? true : undefined;
    },
    100,
  );
  return { states, at: epochNow() };
}

/** Waits until the promote queue and both Slack outboxes are empty; returns how long it took. */
export async function drain(world: World, timeoutMs: number, everyMs = 100): Promise<number> {
  const t0 = performance.now();
  await until(
    "the queues to drain",
    timeoutMs,
    async () => {
      const counts = await Promise.all(
        world.queues.map((q) => q.getJobCounts("wait", "active", "delayed", "prioritized")),
      );
      const left = counts.reduce((n, c) => n + Object.values(c).reduce((a, b) => a + b, 0), 0);
      return left === 0 ? true : undefined;
    },
    everyMs,
  );
  return performance.now() - t0;
}
