/**
 * Section 3: promotions approved at once through a limited Auth0 bucket, nothing configured
 * (AUTH0_MAX_REQUESTS_PER_SECOND unset): the fleet learns the bucket from Auth0's answers. The
 * requests were made earlier, while Auth0 was not limited; each row starts its own processes,
 * with the tenant's budget forgotten, and times the promotions from the approve clicks.
 */
import type { RequestState } from "../../requests/model.js";
import { type Bucket, SETTLE_MS, TARGET } from "./config.js";
import type { ApiCall, ApprovalMessage } from "./emulator-thread.js";
import { epochNow } from "./emulators.js";
import { memoryRows } from "./memory.js";
import { progress, type Report, sec } from "./report.js";
import { forgetTenantBudget, learntRate } from "./tenant-budget.js";
import { burst, expectOk, warmUp } from "./traffic.js";
import {
  approveClick,
  type Bot,
  createRequests,
  drain,
  settle,
  startBot,
  type World,
} from "./world.js";

/** Calls a promotion costs the worker: GET the connection, PATCH it. */
const CALLS_PER_PROMOTION = 2;
/**
 * Commands sent at once while making a row's requests: a lookup for people is turned away
 * ("Auth0 is busy") when it would wait more than 5 s behind the others.
 */
const REQUESTS_AT_ONCE = 10;

export interface PacedRow {
  /** "3a" */
  label: string;
  approvals: ApprovalMessage[];
  bucket: Bucket;
  /** 0: one process (role all); n: a bot serving the clicks and n worker processes. */
  workers: number;
}

/** What a row measured, judged by {@link pacingRows}. */
export interface PacingResult {
  promotions: number;
  failed: number;
  /** Promotions that had not finished by the deadline. */
  unfinished: number;
  /** The Management API calls of the timed phase. */
  calls: ApiCall[];
  /** From the first approval (or the first call) to the last Auth0 call, on our clock. */
  tookMs: number;
  tokens: number;
}

/** The bucket's ideal time for `promotions`: max(0, N − burst) / rate, N = 2 calls each. */
export function idealMs(promotions: number, bucket: Bucket): number {
  return (Math.max(0, promotions * CALLS_PER_PROMOTION - bucket.burst) / bucket.perSecond) * 1000;
}

export function bucketWords(b: Bucket): string {
  return `${b.perSecond}/s burst ${b.burst}`;
}

/**
 * A row's figures: failures, the share of calls answered 429, time against the bucket's ideal
 * and tokens fetched; `judged` false for the peer, whose figures are shown beside the targets.
 */
export function pacingRows(
  report: Report,
  title: string,
  bucket: Bucket,
  r: PacingResult,
  judged = true,
): void {
  const mark = (ok: boolean) => (judged ? ok : undefined);
  const limited = r.calls.filter((c) => c.status === 429).length;
  const share = r.calls.length === 0 ? 0 : limited / r.calls.length;
  const ideal = idealMs(r.promotions, bucket);
  const ratio = r.tookMs / ideal;
  const failed = `${r.failed} (${((r.failed / r.promotions) * 100).toFixed(0)} %)`;
  report.row(
    `${title}: failed`,
    r.unfinished > 0 ? `${failed}, ${r.unfinished} unfinished` : failed,
    "0",
    mark(r.failed === 0 && r.unfinished === 0),
  );
  report.row(
    "   … Auth0 calls answered 429",
    `${limited} of ${r.calls.length} (${(share * 100).toFixed(1)} %)`,
    `≤ ${TARGET.share429 * 100} %`,
    mark(share <= TARGET.share429),
  );
  report.row(
    `   … to the last Auth0 call / ideal (${r.promotions}×${CALLS_PER_PROMOTION} − ${bucket.burst}) / ${bucket.perSecond}/s`,
    `${sec(r.tookMs)} / ${sec(ideal)} = ${ratio.toFixed(3)}×`,
    `≤ ${TARGET.paceRatio}×`,
    mark(ratio <= TARGET.paceRatio),
  );
  report.row(
    "   … Auth0 tokens fetched",
    String(r.tokens),
    String(TARGET.tokensPerFleet),
    mark(r.tokens <= TARGET.tokensPerFleet),
  );
}

/** The row's processes, nothing configured: one doing everything, or a bot and workers. */
async function startFleet(world: World, row: PacedRow): Promise<{ bot: Bot; all: Bot[] }> {
  const env = { AUTH0_MAX_REQUESTS_PER_SECOND: "" };
  if (row.workers === 0) {
    const bot = await startBot(world, `bot ${row.label}`, "all", env);
    return { bot, all: [bot] };
  }
  const bot = await startBot(world, `bot ${row.label}`, "bot", env);
  const workers = await Promise.all(
    Array.from({ length: row.workers }, (_, i) =>
      startBot(world, `worker ${row.label}.${i + 1}`, "worker", env),
    ),
  );
  return { bot, all: [bot, ...workers] };
}

/** Requests for a row, made a few at a time, not timed. */
export async function createRowRequests(
  world: World,
  bot: Bot,
  indexes: number[],
  tag: string,
): Promise<ApprovalMessage[]> {
  const approvals: ApprovalMessage[] = [];
  for (let i = 0; i < indexes.length; i += REQUESTS_AT_ONCE) {
    const wave = indexes.slice(i, i + REQUESTS_AT_ONCE);
    approvals.push(...(await createRequests(world, bot, wave, tag)).approvals);
  }
  return approvals;
}

/** Every request DONE or FAILED, or what they were at the deadline. */
async function outcome(
  world: World,
  ids: string[],
  timeoutMs: number,
): Promise<Map<string, RequestState>> {
  try {
    return (await settle(world, ids, timeoutMs)).states;
  } catch {
    const found = await world.store.getMany(ids);
    return new Map(found.map((r) => [r.id, r.state]));
  }
}

export async function measurePaced(world: World, row: PacedRow): Promise<void> {
  const { report, emu } = world;
  report.section = 3;
  const n = row.approvals.length;
  const fleet = row.workers === 0 ? "one process" : `a bot and ${row.workers} worker processes`;
  const title = `${row.label}. ${n} promotions, bucket ${bucketWords(row.bucket)}, ${fleet}`;
  progress(`${title} (ideal ${sec(idealMs(n, row.bucket))})`);
  await emu.call({ op: "setRateLimit", rateLimit: row.bucket });
  await forgetTenantBudget(world);
  const tokensBefore = await emu.call<number>({ op: "tokensIssued" });
  const { bot, all } = await startFleet(world, row);
  if (row.workers === 0)
    memoryRows(world, `process of ${row.label} just started, idle`, bot, false);

  const from = await emu.call<number>({ op: "apiCallCount" });
  await warmUp(`http://127.0.0.1:${bot.port}`, n);
  const clicks = await burst(
    `http://127.0.0.1:${bot.port}/slack/events`,
    row.approvals.map((a) => approveClick(world, a, `paced-${row.label}`)),
  );
  expectOk("approve clicks", clicks.answers);
  const clickedAt = Math.min(...clicks.answers.map((a) => a.sentAt));
  const states = await outcome(
    world,
    row.approvals.map((a) => a.requestId),
    idealMs(n, row.bucket) * 2 + 20_000,
  );
  const settledAt = epochNow();
  const calls = await emu.call<ApiCall[]>({ op: "apiCalls", from });
  const count = (state: RequestState) => [...states.values()].filter((s) => s === state).length;
  const at = calls.map((c) => emu.ours(c.at));
  pacingRows(report, title, row.bucket, {
    promotions: n,
    failed: count("FAILED"),
    unfinished: n - count("DONE") - count("FAILED"),
    calls,
    tookMs: Math.max(...at) - clickedAt,
    tokens: (await emu.call<number>({ op: "tokensIssued" })) - tokensBefore,
  });
  const rate = await learntRate(world);
  report.row(
    "   … clicks → first Auth0 call / → all settled; rate learnt",
    `${sec(Math.min(...at) - clickedAt)} / ${sec(settledAt - clickedAt)}; ${rate === undefined ? "none" : `${rate.toFixed(2)}/s`}`,
  );

  await drain(world, SETTLE_MS);
  if (row.workers === 0) memoryRows(world, `process of ${row.label} after it`, bot, true);
  for (const p of all) await p.stop();
  await emu.call({ op: "setRateLimit", rateLimit: null });
}
