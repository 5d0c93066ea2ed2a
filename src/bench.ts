/**
 * `npm run bench`: measures the targets of DESIGN.md against the real bot, run as a child process
 * (`node dist/main.js`, HTTP mode) so that its memory is its own, fed Slack-signed requests over
 * real HTTP, with Slack and Auth0 emulated on loopback (in a worker thread, see bench-emulators)
 * and a real Redis (a throwaway redis-server, or REDIS_URL with a random prefix, removed after).
 *
 * It prints a table: figure, measured value, target, ✓ or ✗. Every loop has a count and a
 * deadline. Exit 0 when it ran (even with a target missed), 1 when it could not.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, platform, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { Agent, request } from "undici";
import type {
  ApiCall,
  ApprovalMessage,
  EmulatorAnswer,
  EmulatorCall,
  EmulatorInfo,
} from "./bench-emulators.js";
import {
  type EmbeddedRedis,
  RedisServerNotFoundError,
  startEmbeddedRedis,
} from "./embedded-redis.js";
import type { EmulatedConnection } from "./emulators/auth0.js";
import {
  blockActionPayload,
  FORM_CONTENT_TYPE,
  signSlackRequest,
  slashCommandBody,
} from "./emulators/slack-requests.js";
import { AUDIT_QUEUE, CHANGE_QUEUE, createRedis, OUTBOX_QUEUE } from "./jobs/queues.js";
import { createLogger } from "./log.js";
import { freePort } from "./net.js";
import { FINAL_STATES, type RequestState } from "./requests/model.js";
import { RequestStore } from "./requests/store.js";

/** Commands, then approve clicks, arriving at once. */
const BURST = 200;
/** Sequential approvals, each waiting for its PATCH. */
const SEQUENTIAL = 50;
/** Promotions enqueued at once through a rate-limited Auth0. */
const PACED = 60;
/** Auth0's bucket in the paced run: R requests/s, burst R. */
const RATE = 10;
/** Auth0 pace for everything but the paced run: the emulator does not limit it then. */
const UNPACED_RATE = 1000;

/** Targets, as DESIGN.md states them. */
const TARGET = {
  ackP99Ms: 50,
  patchMedianMs: 10,
  share429: 0.01,
  paceRatio: 1.05,
  rssMb: 120,
  resumeMs: 30_000,
};

/** The whole run, start-up and clean-up included. */
const OVERALL_MS = 115_000;
const READY_MS = 20_000;
const CREATE_MS = 30_000;
const SETTLE_MS = 60_000;
const HTTP_TIMEOUT_MS = 10_000;

const SIGNING_SECRET = "bench-signing-secret-not-a-real-one";
const TEAM_ID = "T0BENCH01";
const APPROVER = "UBENCHAPPR";
const APPROVALS = "CBENCHAPPR";
const AUDIT = "CBENCHAUDT";
const GENERAL = "CBENCHGENL";

class BenchError extends Error {}

// ── output ───────────────────────────────────────────────────────────────────────────────────

interface Row {
  /** Rows print grouped by section (the numbers of the brief), in the order they were added. */
  section: number;
  figure: string;
  value: string;
  target: string;
  /** undefined: an informative figure without a target */
  ok?: boolean;
}

const rows: Row[] = [];
const notes: string[] = [];

function progress(line: string): void {
  process.stderr.write(`· ${line}\n`);
}

let section = 0;

function row(figure: string, value: string, target = "", ok?: boolean): void {
  rows.push({ section, figure, value, target, ok });
}

function printTable(): void {
  const header: Row = { section: -1, figure: "figure", value: "measured", target: "target" };
  const sorted = [...rows].sort((a, b) => a.section - b.section);
  const all = [header, ...sorted];
  const w = (key: "figure" | "value" | "target") => Math.max(...all.map((r) => r[key].length));
  const [fw, vw, tw] = [w("figure"), w("value"), w("target")];
  const line = (r: Row, mark: string) =>
    `${r.figure.padEnd(fw)}  ${r.value.padStart(vw)}  ${r.target.padEnd(tw)}  ${mark}`.trimEnd();
  console.log(line(header, ""));
  console.log("─".repeat(fw + vw + tw + 7));
  for (const r of sorted) console.log(line(r, r.ok === undefined ? "" : r.ok ? "✓" : "✗"));
}

const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
const sec = (v: number) => `${(v / 1000).toFixed(2)} s`;
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

/** Nearest-rank percentile of an unsorted list. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? Number.NaN;
}

// ── plumbing ─────────────────────────────────────────────────────────────────────────────────

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(msToWait: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msToWait));
}

/** Polls `check` every `everyMs` until it returns something, or throws after `timeoutMs`. */
async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  everyMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() >= deadline) {
      throw new BenchError(`timed out after ${sec(timeoutMs)} waiting for ${what}`);
    }
    await sleep(everyMs);
  }
}

/** A free loopback port, or an error saying there is none. */
async function aFreePort(): Promise<number> {
  const port = await freePort();
  if (port === undefined) throw new BenchError("no free TCP port on 127.0.0.1");
  return port;
}

/** The emulators' worker thread, called like a function: one answer per call. */
class Emulators {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  /** Emulator clock minus ours (epoch ms); measured by calibrate(). */
  offsetMs = 0;

  constructor() {
    this.worker = new Worker(new URL("./bench-emulators.js", import.meta.url));
    this.worker.on("message", (answer: EmulatorAnswer) => {
      const waiter = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (answer.ok) waiter?.resolve(answer.value);
      else waiter?.reject(new BenchError(`emulator: ${answer.error}`));
    });
    this.worker.on("error", (err) => {
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    });
  }

  call<T>(call: EmulatorCall): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, call });
    });
  }

  /** Both threads read the same clocks; the offset is measured anyway, from the fastest ping. */
  async calibrate(): Promise<void> {
    let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
    for (let i = 0; i < 20; i++) {
      const t0 = epochNow();
      const theirs = await this.call<number>({ op: "now" });
      const t1 = epochNow();
      if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: theirs - (t0 + t1) / 2 };
    }
    this.offsetMs = best.offset;
  }

  /** An emulator timestamp on our clock. */
  ours(at: number): number {
    return at - this.offsetMs;
  }

  async close(): Promise<void> {
    await this.call({ op: "close" }).catch(() => undefined);
    await this.worker.terminate();
  }
}

interface BotChild {
  name: string;
  proc: ChildProcess;
  pid: number;
  port: number;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void>;
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL if it is still there after 30 s. */
  stop(): Promise<void>;
}

const children = new Set<BotChild>();
const distMain = fileURLToPath(new URL("./main.js", import.meta.url));
/**
 * Node options for the bot processes: by default the memory flags that `npm start` and the
 * Docker image use; BENCH_NODE_ARGS replaces them (e.g. "--cpu-prof" to profile, "" for none).
 */
const PRODUCTION_NODE_ARGS = "--max-semi-space-size=4 --max-old-space-size=128";
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? PRODUCTION_NODE_ARGS).split(/\s+/).filter(Boolean);

/** `node dist/main.js --role <role>`: the bot as production runs it. */
function spawnBot(name: string, role: string, env: Record<string, string>, cwd: string): BotChild {
  return spawnNode(name, [...nodeArgs, distMain, "--role", role], env, cwd);
}

function spawnNode(
  name: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): BotChild {
  const proc = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-64 * 1024);
    for (const l of listeners) l();
  };
  proc.stdout?.on("data", onData);
  proc.stderr?.on("data", onData);
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const isRunning = () => proc.exitCode === null && proc.signalCode === null;
  const child: BotChild = {
    name,
    proc,
    pid: proc.pid ?? 0,
    port: Number(env.PORT),
    output: () => out,
    waitForOutput(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) finish();
        };
        const onExit = () => finish(new BenchError(`${name} exited before printing ${pattern}`));
        const timer = setTimeout(
          () => finish(new BenchError(`${name} printed no ${pattern} within ${sec(timeoutMs)}`)),
          timeoutMs,
        );
        function finish(err?: Error) {
          clearTimeout(timer);
          listeners.delete(check);
          proc.off("exit", onExit);
          if (err) reject(err);
          else resolve();
        }
        listeners.add(check);
        proc.once("exit", onExit);
        check();
      });
    },
    exited,
    async stop() {
      if (isRunning()) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
        await exited;
        clearTimeout(timer);
      }
      children.delete(child);
    },
  };
  children.add(child);
  exited.then(() => children.delete(child));
  return child;
}

/** VmRSS and VmHWM (peak) of a process, in kB; undefined where there is no /proc. */
function memoryOf(pid: number): { rssKb: number; hwmKb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    const rssKb = field("VmRSS");
    const hwmKb = field("VmHWM");
    return Number.isFinite(rssKb) && Number.isFinite(hwmKb) ? { rssKb, hwmKb } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The machine's floor: a bare node:http server in a child process that reads the body and answers
 * a few bytes of JSON. No bot can ack faster than this on the same machine.
 */
const BARE_SERVER = `
const server = require("node:http").createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"ok":true}');
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));
`;

// ── Slack-signed requests ────────────────────────────────────────────────────────────────────

/** Enough pooled connections that 200 requests at once each get their own socket. */
const agent = new Agent({
  connections: 256,
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 30_000,
  headersTimeout: HTTP_TIMEOUT_MS,
  bodyTimeout: HTTP_TIMEOUT_MS,
});

interface Signed {
  body: string;
  headers: Record<string, string>;
}

/** Signed ahead of the burst, so that the burst itself is only sending. */
function signed(body: string): Signed {
  return {
    body,
    headers: {
      ...signSlackRequest(SIGNING_SECRET, body),
      "content-type": FORM_CONTENT_TYPE,
      "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    },
  };
}

interface Answer {
  status: number;
  text: string;
  /** epoch ms when the request was issued */
  sentAt: number;
  /** issued → whole response read */
  ms: number;
}

async function post(url: string, req: Signed): Promise<Answer> {
  const sentAt = epochNow();
  const t0 = performance.now();
  const res = await request(url, {
    method: "POST",
    headers: req.headers,
    body: req.body,
    dispatcher: agent,
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, sentAt, ms: performance.now() - t0 };
}

/** Opens `n` keep-alive sockets to the bot, so a burst measures the bot, not TCP handshakes. */
async function warmUp(base: string, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async () => {
      const res = await request(`${base}/healthz`, { dispatcher: agent });
      await res.body.dump();
    }),
  );
}

/** All at once; also reports how late the benchmark's own event loop ran meanwhile. */
async function burst(
  url: string,
  requests: Signed[],
): Promise<{ answers: Answer[]; lagMs: number }> {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const answers = await Promise.all(requests.map((r) => post(url, r)));
  lag.disable();
  return { answers, lagMs: lag.max / 1e6 };
}

function expectOk(what: string, answers: Answer[]): void {
  const bad = answers.filter((a) => a.status !== 200);
  if (bad.length > 0) {
    throw new BenchError(
      `${bad.length} of ${answers.length} ${what} were answered ${bad[0]?.status}: ${bad[0]?.text.slice(0, 200)}`,
    );
  }
}

// ── the scenario ─────────────────────────────────────────────────────────────────────────────

function connection(i: number): EmulatedConnection {
  return {
    id: `con_Bench${String(i).padStart(11, "0")}`,
    name: `bench-${i}`,
    display_name: `Bench ${i}`,
    strategy: "auth0",
    is_domain_connection: false,
  };
}

const requester = (i: number) => `UBREQ${String(i).padStart(5, "0")}`;

interface World {
  emu: Emulators;
  info: EmulatorInfo;
  redisUrl: string;
  prefix: string;
  store: RequestStore;
  redis: Redis;
  queues: Queue[];
  cwd: string;
  connections: EmulatedConnection[];
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
    REDIS_URL: world.redisUrl,
    REDIS_PREFIX: world.prefix,
    PORT: String(port),
    LOG_LEVEL: "warn",
    ...extra,
  };
}

async function startBot(
  world: World,
  name: string,
  role: string,
  extra: Record<string, string> = {},
): Promise<BotChild> {
  const port = await aFreePort();
  const child = spawnBot(name, role, botEnv(world, port, extra), world.cwd);
  const base = `http://127.0.0.1:${port}`;
  let gone = false;
  void child.exited.then(() => {
    gone = true;
  });
  try {
    await until(`${name} to be ready (GET /readyz)`, READY_MS, async () => {
      if (gone) throw new BenchError(`${name} exited during start-up`);
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
    throw new BenchError(`${(err as Error).message}; it printed:\n${tail || "(nothing)"}`);
  }
  return child;
}

/** Sends commands for these connections at once and waits for their approval messages. */
async function createRequests(
  world: World,
  bot: BotChild,
  indexes: number[],
  tag: string,
): Promise<{ approvals: ApprovalMessage[]; acks: Answer[]; lagMs: number }> {
  const eventsUrl = `http://127.0.0.1:${bot.port}/slack/events`;
  const responseUrl = (i: number) => `${world.info.slackUrl}/response/bench-${tag}-${i}`;
  const commands = indexes.map((i) =>
    signed(
      slashCommandBody({
        text: `${world.connections[i]?.id} "benchmark"`,
        user_id: requester(i),
        team_id: TEAM_ID,
        channel_id: GENERAL,
        channel_name: "general",
        response_url: responseUrl(i),
      }),
    ),
  );
  await warmUp(`http://127.0.0.1:${bot.port}`, indexes.length);
  const { answers, lagMs } = await burst(eventsUrl, commands);
  expectOk("commands", answers);

  const wanted = new Set(indexes.map((i) => world.connections[i]?.id));
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
        return mine.length >= indexes.length ? mine : undefined;
      },
      100,
    );
    return { approvals, acks: answers, lagMs };
  } catch (err) {
    // Say why some were not created: the bot's private replies to their requesters.
    const replies = await world.emu.call<string[][]>({
      op: "replies",
      urls: indexes.map(responseUrl),
    });
    const refusals = replies.flat().filter((t) => !/Looking up|Request `req_/.test(t));
    throw new BenchError(
      `${(err as Error).message}${refusals[0] ? `; the bot replied e.g.: ${refusals[0].slice(0, 300)}` : ""}`,
    );
  }
}

function approveClick(world: World, a: ApprovalMessage, tag: string): Signed {
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
async function settle(
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
async function drain(world: World, timeoutMs: number, everyMs = 100): Promise<number> {
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

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

function memoryRows(label: string, bot: BotChild, target: boolean): void {
  const before = section;
  section = 4;
  const mem = memoryOf(bot.pid);
  const limitKb = TARGET.rssMb * 1024;
  const goal = target ? `≤ ${TARGET.rssMb} MB` : "";
  if (!mem) row(`4. ${label}: RSS / peak`, "n/a (no /proc)", goal);
  else {
    row(
      `4. ${label}: RSS now (VmRSS)`,
      mb(mem.rssKb),
      goal,
      target ? mem.rssKb <= limitKb : undefined,
    );
    row(`   … peak (VmHWM)`, mb(mem.hwmKb), goal, target ? mem.hwmKb <= limitKb : undefined);
  }
  section = before;
}

async function run(world: World): Promise<void> {
  const burstIdx = range(0, BURST);
  const seqIdx = range(BURST, SEQUENTIAL);
  const seqIdleIdx = range(BURST + SEQUENTIAL, SEQUENTIAL);
  const pacedIdx = range(BURST + 2 * SEQUENTIAL, PACED);
  const crashIdx = BURST + 2 * SEQUENTIAL + PACED;

  progress(`starting the bot (role all, AUTH0_MAX_REQUESTS_PER_SECOND=${UNPACED_RATE})`);
  const bot1 = await startBot(world, "bot 1", "all");
  const base1 = `http://127.0.0.1:${bot1.port}`;
  const events1 = `${base1}/slack/events`;

  // 1. Acks: 200 commands at once, then 200 approve clicks at once. First two floors: a bare
  // node:http server on this machine, then the bot answering `help`, which is all ack and no work.
  const helps = () =>
    burstIdx.map((i) =>
      signed(
        slashCommandBody({
          text: "help",
          user_id: requester(i),
          team_id: TEAM_ID,
          channel_id: GENERAL,
          response_url: `${world.info.slackUrl}/response/bench-help-${i}`,
        }),
      ),
    );
  section = 0;
  progress(`0. ${BURST} requests at once to a bare node:http server (the machine's floor)`);
  const barePort = await aFreePort();
  const bare = spawnNode("bare server", ["-e", BARE_SERVER], { PORT: String(barePort) }, world.cwd);
  await bare.waitForOutput(/listening/, READY_MS);
  await warmUp(`http://127.0.0.1:${barePort}`, BURST);
  const bareMs = (await burst(`http://127.0.0.1:${barePort}/`, helps())).answers.map((a) => a.ms);
  await bare.stop();
  row(
    `0. floor: ${BURST} at once to a bare node:http server: p50 / p99`,
    `${ms(percentile(bareMs, 50))} / ${ms(percentile(bareMs, 99))}`,
  );

  section = 1;
  progress(`1. ${BURST} help commands at once (nothing to do after the ack)`);
  await warmUp(base1, BURST);
  const help = await burst(events1, helps());
  expectOk("help commands", help.answers);
  const helpMs = help.answers.map((a) => a.ms);
  row(
    `1. ack of ${BURST} \`help\` at once (no work after it): p50 / p99`,
    `${ms(percentile(helpMs, 50))} / ${ms(percentile(helpMs, 99))}`,
  );
  progress(`1. ${BURST} commands at once`);
  const created = await createRequests(world, bot1, burstIdx, "burst");
  const ackMs = created.acks.map((a) => a.ms);
  const cmdP99 = percentile(ackMs, 99);
  row(
    `1. ack of ${BURST} commands at once: p50 / p95`,
    `${ms(percentile(ackMs, 50))} / ${ms(percentile(ackMs, 95))}`,
  );
  row(`   … p99`, ms(cmdP99), `≤ ${TARGET.ackP99Ms} ms`, cmdP99 <= TARGET.ackP99Ms);
  row(`   … max`, ms(Math.max(...ackMs)), "< 3 s (Slack)", Math.max(...ackMs) < 3000);
  notes.push(`benchmark's own event-loop lag during the command burst: max ${ms(created.lagMs)}`);

  progress(`1. ${BURST} approve clicks at once`);
  const burstIds = created.approvals.map((a) => a.requestId);
  await warmUp(base1, BURST);
  const clicks = await burst(
    events1,
    created.approvals.map((a) => approveClick(world, a, "burst")),
  );
  expectOk("approve clicks", clicks.answers);
  const clickMs = clicks.answers.map((a) => a.ms);
  const clickP99 = percentile(clickMs, 99);
  const clicksAt = Math.min(...clicks.answers.map((a) => a.sentAt));
  row(
    `1. ack of ${BURST} approve clicks at once: p50 / p95`,
    `${ms(percentile(clickMs, 50))} / ${ms(percentile(clickMs, 95))}`,
  );
  row(`   … p99`, ms(clickP99), `≤ ${TARGET.ackP99Ms} ms`, clickP99 <= TARGET.ackP99Ms);
  row(`   … max`, ms(Math.max(...clickMs)), "< 3 s (Slack)", Math.max(...clickMs) < 3000);
  notes.push(`benchmark's own event-loop lag during the click burst: max ${ms(clicks.lagMs)}`);
  const settled = await settle(world, burstIds, SETTLE_MS);
  const burstFailed = [...settled.states.values()].filter((s) => s !== "DONE").length;
  row(
    `   ${BURST} clicks → all promoted (unpaced Auth0)`,
    sec(settled.at - clicksAt),
    burstFailed ? `${burstFailed} not DONE` : "",
    burstFailed ? false : undefined,
  );
  const drained = await drain(world, SETTLE_MS);
  row(`   … then Slack outbox drained after`, sec(settled.at - clicksAt + drained));

  // 2. Approve click → PATCH on the wire, one at a time, with the token cached by now: first each
  // click as soon as the previous PATCH arrived, then each click on an idle bot (queues drained).
  section = 2;
  for (const mode of ["back-to-back", "from idle"] as const) {
    const idle = mode === "from idle";
    progress(`2. ${SEQUENTIAL} approvals one at a time, ${mode}`);
    const seq = await createRequests(world, bot1, idle ? seqIdleIdx : seqIdx, `seq-${mode}`);
    await drain(world, SETTLE_MS);
    const from = await world.emu.call<number>({ op: "apiCallCount" });
    const toPatch: number[] = [];
    const toAck: number[] = [];
    const sentAt = new Map<string, number>();
    const patchAt = new Map<string, number>();
    for (const a of seq.approvals) {
      const answer = await post(events1, approveClick(world, a, "seq"));
      if (answer.status !== 200) throw new BenchError(`a click was answered ${answer.status}`);
      const patch = await world.emu.call<{ at: number; status: number }>({
        op: "waitForPatch",
        connectionId: a.connectionId,
        timeoutMs: 10_000,
      });
      toPatch.push(world.emu.ours(patch.at) - answer.sentAt);
      toAck.push(answer.ms);
      sentAt.set(a.connectionId, answer.sentAt);
      patchAt.set(a.connectionId, world.emu.ours(patch.at));
      if (idle) await drain(world, SETTLE_MS, 10);
    }
    // The worker's GET of each connection (the command's own GET came before `from`).
    const gets = (await world.emu.call<ApiCall[]>({ op: "apiCalls", from })).filter(
      (c) => c.method === "GET" && sentAt.has(c.path.split("/").pop() ?? ""),
    );
    const toGet: number[] = [];
    const getToPatch: number[] = [];
    for (const c of gets) {
      const id = c.path.split("/").pop() ?? "";
      toGet.push(world.emu.ours(c.at) - (sentAt.get(id) ?? Number.NaN));
      getToPatch.push((patchAt.get(id) ?? Number.NaN) - world.emu.ours(c.at));
    }
    const median = percentile(toPatch, 50);
    row(
      `2. click → PATCH arrives (${mode}): median`,
      ms(median),
      `≤ ${TARGET.patchMedianMs} ms`,
      median <= TARGET.patchMedianMs,
    );
    row(`   … p95`, ms(percentile(toPatch, 95)));
    row(
      `   … medians: click → ack / → worker's GET / GET → PATCH`,
      `${ms(percentile(toAck, 50))} / ${ms(percentile(toGet, 50))} / ${ms(percentile(getToPatch, 50))}`,
    );
    await settle(
      world,
      seq.approvals.map((a) => a.requestId),
      SETTLE_MS,
    );
  }

  // The paced run's requests are made here, where Auth0 is not limited; then a new process with
  // the limit configured serves the clicks.
  progress(`3. making ${PACED} requests for the rate-limited run`);
  const paced = await createRequests(world, bot1, pacedIdx, "paced");
  await drain(world, SETTLE_MS);
  memoryRows("bot+worker process 1 after 1–2", bot1, true);
  await bot1.stop();

  // 3. Through an Auth0 bucket of R/s.
  section = 3;
  progress(`3. ${PACED} promotions through an Auth0 bucket of ${RATE}/s`);
  const bot2 = await startBot(world, "bot 2", "all", {
    AUTH0_MAX_REQUESTS_PER_SECOND: String(RATE),
  });
  memoryRows("bot+worker process 2 just started, idle", bot2, false);
  await world.emu.call({ op: "setRateLimit", rateLimit: { perSecond: RATE, burst: RATE } });
  const pacedFrom = await world.emu.call<number>({ op: "apiCallCount" });
  await warmUp(`http://127.0.0.1:${bot2.port}`, PACED);
  const pacedClicks = await burst(
    `http://127.0.0.1:${bot2.port}/slack/events`,
    paced.approvals.map((a) => approveClick(world, a, "paced")),
  );
  expectOk("approve clicks", pacedClicks.answers);
  const pacedAt = Math.min(...pacedClicks.answers.map((a) => a.sentAt));
  const idealMs = ((PACED * 2 - RATE) / RATE) * 1000;
  const pacedSettled = await settle(
    world,
    paced.approvals.map((a) => a.requestId),
    Math.min(SETTLE_MS, idealMs * 3 + 10_000),
  );
  const calls = await world.emu.call<ApiCall[]>({ op: "apiCalls", from: pacedFrom });
  const limited = calls.filter((c) => c.status === 429).length;
  const failed = [...pacedSettled.states.values()].filter((s) => s === "FAILED").length;
  const lastCall = Math.max(...calls.map((c) => world.emu.ours(c.at)));
  const firstCall = Math.min(...calls.map((c) => world.emu.ours(c.at)));
  const took = lastCall - pacedAt;
  const allowed = (Math.max(0, calls.length - RATE) / RATE) * 1000;
  const ratio = took / allowed;
  row(`3. ${PACED} promotions, Auth0 bucket ${RATE}/s: failed`, String(failed), "0", failed === 0);
  row(
    `   … Auth0 calls answered 429`,
    `${limited} of ${calls.length} (${((limited / calls.length) * 100).toFixed(1)} %)`,
    `≤ ${TARGET.share429 * 100} %`,
    limited / calls.length <= TARGET.share429,
  );
  row(
    `   … clicks → last Auth0 call / (calls − burst)/R`,
    `${sec(took)} / ${sec(allowed)} = ${ratio.toFixed(3)}×`,
    `≤ ${TARGET.paceRatio}×`,
    ratio <= TARGET.paceRatio,
  );
  row(
    `   … of which clicks → first Auth0 call / first → last`,
    `${sec(firstCall - pacedAt)} / ${sec(lastCall - firstCall)}`,
  );
  row(`   … clicks → all promoted`, sec(pacedSettled.at - pacedAt));
  await drain(world, SETTLE_MS);
  memoryRows("bot+worker process 2 after 3", bot2, true);
  await bot2.stop();
  await world.emu.call({ op: "setRateLimit", rateLimit: null });

  // 5. A worker killed mid-job (kill -9): how long until another one has done the PATCH.
  section = 5;
  progress("5. a worker killed with SIGKILL mid-promotion (takes ~20 s)");
  const bot3 = await startBot(world, "bot 3", "bot");
  const worker1 = await startBot(world, "worker 1", "worker", { LOG_LEVEL: "info" });
  const target = world.connections[crashIdx];
  if (!target) throw new BenchError("no connection for the crash run");
  const crash = await createRequests(world, bot3, [crashIdx], "crash");
  const crashApproval = crash.approvals[0];
  if (!crashApproval) throw new BenchError("no approval message for the crash run");
  // Auth0 hangs on the worker's read, so the worker is mid-job when it dies.
  await world.emu.call({
    op: "injectFault",
    fault: {
      method: "GET",
      path: `/api/v2/connections/${target.id}`,
      kind: "delay",
      delayMs: 60_000,
    },
  });
  const crashClick = await post(
    `http://127.0.0.1:${bot3.port}/slack/events`,
    approveClick(world, crashApproval, "crash"),
  );
  if (crashClick.status !== 200) throw new BenchError(`a click was answered ${crashClick.status}`);
  await worker1.waitForOutput(/change started/, 10_000);
  worker1.proc.kill("SIGKILL");
  await worker1.exited;
  const killedAt = epochNow();
  const worker2 = await startBot(world, "worker 2", "worker");
  const patch = await world.emu.call<{ at: number; status: number }>({
    op: "waitForPatch",
    connectionId: target.id,
    timeoutMs: 40_000,
  });
  const resumed = world.emu.ours(patch.at) - killedAt;
  row(
    "5. kill -9 of a worker mid-job → PATCH by another",
    sec(resumed),
    `≤ ${TARGET.resumeMs / 1000} s`,
    resumed <= TARGET.resumeMs && patch.status === 200,
  );
  await worker2.stop();
  await bot3.stop();
}

// ── set-up and clean-up ──────────────────────────────────────────────────────────────────────

async function removeKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== "0");
}

function header(): void {
  const cpu = cpus();
  console.log("promote-connection benchmark");
  console.log(
    `machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${platform()} ${release()}; node ${process.version}`,
  );
  console.log(
    "Slack and Auth0 are EMULATED on 127.0.0.1 (in a worker thread of the benchmark); the bot is the real one, " +
      "run as a child process (node dist/main.js, HTTP mode, LOG_LEVEL warn).",
  );
}

async function main(): Promise<number> {
  if (!existsSync(distMain)) {
    console.error(`${distMain} is missing: run npm run build first.`);
    return 1;
  }
  const cwd = mkdtempSync(join(tmpdir(), "promote-connection-bench-"));
  const prefix = `bench-${randomBytes(4).toString("hex")}`;
  const externalUrl = process.env.REDIS_URL?.trim() || undefined;
  let embedded: EmbeddedRedis | undefined;
  let emu: Emulators | undefined;
  let redis: Redis | undefined;
  const queues: Queue[] = [];
  const problems: string[] = [];

  const cleanUp = async () => {
    const step = async (what: string, fn: () => Promise<unknown> | undefined) => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    for (const child of [...children]) await step(`stopping ${child.name}`, () => child.stop());
    for (const q of queues) await step("closing a queue", () => q.close());
    if (externalUrl && redis?.status === "ready") {
      const r = redis;
      await step("removing the benchmark's Redis keys", () => removeKeys(r, prefix));
    }
    redis?.disconnect();
    await step("closing the emulators", () => emu?.close());
    await step("closing the HTTP agent", () => agent.close());
    await step("stopping the embedded Redis", () => embedded?.stop());
    rmSync(cwd, { recursive: true, force: true });
  };

  const watchdog = setTimeout(() => {
    process.stderr.write(`\nThe benchmark did not finish within ${sec(OVERALL_MS)}; stopping.\n`);
    for (const child of children) child.proc.kill("SIGKILL");
    setTimeout(() => process.exit(1), 5_000).unref();
    void cleanUp().finally(() => process.exit(1));
  }, OVERALL_MS);
  watchdog.unref();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      for (const child of children) child.proc.kill("SIGKILL");
      void cleanUp().finally(() => process.exit(130));
    });
  }
  // Whatever happens, no bot is left running.
  process.once("exit", () => {
    for (const child of children) child.proc.kill("SIGKILL");
  });

  let failure: unknown;
  header();
  try {
    let redisUrl: string;
    if (externalUrl) {
      redisUrl = externalUrl;
    } else {
      try {
        embedded = await startEmbeddedRedis({
          dataDir: join(cwd, "redis"),
          port: await aFreePort(),
          logger: createLogger({ level: "silent" }),
        });
      } catch (err) {
        if (err instanceof RedisServerNotFoundError) {
          throw new BenchError(
            "the benchmark runs its own redis-server and there is none on PATH: install Redis 7, " +
              "or set REDIS_URL to a Redis it may use (it writes keys under bench-…: and removes them).",
          );
        }
        throw err;
      }
      redisUrl = embedded.url;
    }

    redis = createRedis(redisUrl, "promote-connection:bench");
    let redisError = "";
    redis.on("error", (err: Error) => {
      redisError = err.message;
    });
    try {
      await redis.ping();
    } catch (err) {
      throw new BenchError(
        `Redis at ${redisUrl} does not answer (${redisError || (err as Error).message})`,
      );
    }
    console.log(
      embedded
        ? `Redis: a throwaway redis-server at ${redisUrl} (appendonly, fsync every second)\n`
        : `Redis: ${redisUrl} (REDIS_URL), keys under ${prefix}: removed afterwards\n`,
    );
    for (const name of [CHANGE_QUEUE, OUTBOX_QUEUE, AUDIT_QUEUE]) {
      const queue = new Queue(name, { connection: redis, prefix });
      queue.on("error", () => undefined); // the client's error handler above has it
      queues.push(queue);
    }
    emu = new Emulators();
    const connections = range(0, BURST + 2 * SEQUENTIAL + PACED + 1).map(connection);
    const info = await emu.call<EmulatorInfo>({ op: "start", connections, teamId: TEAM_ID });
    await emu.calibrate();
    await run({
      emu,
      info,
      redisUrl,
      prefix,
      store: new RequestStore(redis, prefix),
      redis,
      queues,
      cwd,
      connections,
    });
  } catch (err) {
    failure = err;
  }
  clearTimeout(watchdog);

  if (rows.length > 0) printTable();
  if (notes.length > 0) {
    console.log();
    for (const note of notes) console.log(note);
  }
  const lastOutput = failure
    ? [...children].map((c) => `${c.name}:\n${c.output().slice(-3000)}`)
    : [];
  await cleanUp();
  if (failure !== undefined) {
    console.error(
      `\nThe benchmark could not finish: ${failure instanceof Error ? failure.message : String(failure)}`,
    );
    for (const out of lastOutput) console.error(out);
  }
  for (const problem of problems) console.error(`While cleaning up, ${problem}`);
  return failure === undefined ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
