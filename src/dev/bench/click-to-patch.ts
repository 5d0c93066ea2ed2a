/**
 * Section 2: approve click → PATCH on the wire, one click at a time, with the token cached by
 * now: first each click as soon as the previous PATCH arrived, then each click on an idle bot
 * (queues drained).
 */
import { SEQUENTIAL, SETTLE_MS, TARGET } from "./config.js";
import type { ApiCall } from "./emulator-thread.js";
import { ms, percentile, progress } from "./report.js";
import { post } from "./traffic.js";
import { approveClick, type Bot, createRequests, drain, settle, type World } from "./world.js";

export async function measureClickToPatch(
  world: World,
  bot: Bot,
  indexes: { backToBack: number[]; fromIdle: number[] },
): Promise<void> {
  const { report, emu } = world;
  report.section = 2;
  const events = `http://127.0.0.1:${bot.port}/slack/events`;
  for (const mode of ["back-to-back", "from idle"] as const) {
    const idle = mode === "from idle";
    progress(`2. ${SEQUENTIAL} approvals one at a time, ${mode}`);
    const seq = await createRequests(
      world,
      bot,
      idle ? indexes.fromIdle : indexes.backToBack,
      // The tag goes into response_url paths, which take no spaces.
      `seq-${mode.replace(" ", "-")}`,
    );
    await drain(world, SETTLE_MS);
    const from = await emu.call<number>({ op: "apiCallCount" });
    const toPatch: number[] = [];
    const toAck: number[] = [];
    const sentAt = new Map<string, number>();
    const patchAt = new Map<string, number>();
    for (const a of seq.approvals) {
      const answer = await post(events, approveClick(world, a, "seq"));
      if (answer.status !== 200) throw new Error(`a click was answered ${answer.status}`);
      const patch = await emu.call<{ at: number; status: number }>({
        op: "waitForPatch",
        connectionId: a.connectionId,
        timeoutMs: 10_000,
      });
      toPatch.push(emu.ours(patch.at) - answer.sentAt);
      toAck.push(answer.ms);
      sentAt.set(a.connectionId, answer.sentAt);
      patchAt.set(a.connectionId, emu.ours(patch.at));
      if (idle) await drain(world, SETTLE_MS, 10);
    }
    // The worker's GET of each connection (the command's own GET came before `from`).
    const gets = (await emu.call<ApiCall[]>({ op: "apiCalls", from })).filter(
      (c) => c.method === "GET" && sentAt.has(c.path.split("/").pop() ?? ""),
    );
    const toGet: number[] = [];
    const getToPatch: number[] = [];
    for (const c of gets) {
      const id = c.path.split("/").pop() ?? "";
      toGet.push(emu.ours(c.at) - (sentAt.get(id) ?? Number.NaN));
      getToPatch.push((patchAt.get(id) ?? Number.NaN) - emu.ours(c.at));
    }
    const median = percentile(toPatch, 50);
    report.row(
      `2. click → PATCH arrives (${mode}): median`,
      ms(median),
      `≤ ${TARGET.patchMedianMs} ms`,
      median <= TARGET.patchMedianMs,
    );
    report.row(`   … p95`, ms(percentile(toPatch, 95)));
    report.row(
      `   … medians: click → ack / → worker's GET / GET → PATCH`,
      `${ms(percentile(toAck, 50))} / ${ms(percentile(toGet, 50))} / ${ms(percentile(getToPatch, 50))}`,
    );
    await settle(
      world,
      seq.approvals.map((a) => a.requestId),
      SETTLE_MS,
    );
  }
}
