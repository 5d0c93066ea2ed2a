/**
 * Section 3: promotions through an Auth0 bucket of R requests/s. A new bot, with the limit
 * configured, serves the approve clicks of requests made earlier while Auth0 was not limited.
 */
import { PACED, RATE, SETTLE_MS, TARGET } from "./config.js";
import type { ApiCall, ApprovalMessage } from "./emulator-thread.js";
import { memoryRows } from "./memory.js";
import { progress, sec } from "./report.js";
import { burst, expectOk, warmUp } from "./traffic.js";
import { approveClick, drain, settle, startBot, type World } from "./world.js";

export async function measurePaced(world: World, approvals: ApprovalMessage[]): Promise<void> {
  const { report, emu } = world;
  report.section = 3;
  progress(`3. ${PACED} promotions through an Auth0 bucket of ${RATE}/s`);
  const bot = await startBot(world, "bot 2", "all", {
    AUTH0_MAX_REQUESTS_PER_SECOND: String(RATE),
  });
  memoryRows(world, "bot+worker process 2 just started, idle", bot, false);
  await emu.call({ op: "setRateLimit", rateLimit: { perSecond: RATE, burst: RATE } });
  const from = await emu.call<number>({ op: "apiCallCount" });
  await warmUp(`http://127.0.0.1:${bot.port}`, PACED);
  const clicks = await burst(
    `http://127.0.0.1:${bot.port}/slack/events`,
    approvals.map((a) => approveClick(world, a, "paced")),
  );
  expectOk("approve clicks", clicks.answers);
  const clickedAt = Math.min(...clicks.answers.map((a) => a.sentAt));
  const idealMs = ((PACED * 2 - RATE) / RATE) * 1000;
  const settled = await settle(
    world,
    approvals.map((a) => a.requestId),
    Math.min(SETTLE_MS, idealMs * 3 + 10_000),
  );
  const calls = await emu.call<ApiCall[]>({ op: "apiCalls", from });
  const limited = calls.filter((c) => c.status === 429).length;
  const failed = [...settled.states.values()].filter((s) => s === "FAILED").length;
  const lastCall = Math.max(...calls.map((c) => emu.ours(c.at)));
  const firstCall = Math.min(...calls.map((c) => emu.ours(c.at)));
  const took = lastCall - clickedAt;
  const allowed = (Math.max(0, calls.length - RATE) / RATE) * 1000;
  const ratio = took / allowed;
  report.row(
    `3. ${PACED} promotions, Auth0 bucket ${RATE}/s: failed`,
    String(failed),
    "0",
    failed === 0,
  );
  report.row(
    `   … Auth0 calls answered 429`,
    `${limited} of ${calls.length} (${((limited / calls.length) * 100).toFixed(1)} %)`,
    `≤ ${TARGET.share429 * 100} %`,
    limited / calls.length <= TARGET.share429,
  );
  report.row(
    `   … clicks → last Auth0 call / (calls − burst)/R`,
    `${sec(took)} / ${sec(allowed)} = ${ratio.toFixed(3)}×`,
    `≤ ${TARGET.paceRatio}×`,
    ratio <= TARGET.paceRatio,
  );
  report.row(
    `   … of which clicks → first Auth0 call / first → last`,
    `${sec(firstCall - clickedAt)} / ${sec(lastCall - firstCall)}`,
  );
  report.row(`   … clicks → all promoted`, sec(settled.at - clickedAt));
  await drain(world, SETTLE_MS);
  memoryRows(world, "bot+worker process 2 after 3", bot, true);
  await bot.stop();
  await emu.call({ op: "setRateLimit", rateLimit: null });
}
