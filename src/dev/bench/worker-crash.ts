/**
 * Section 5: a worker killed with SIGKILL mid-job: how long until another one has done the
 * PATCH. Auth0 hangs on the worker's read of the connection, so the worker is mid-job when it dies.
 */
import { pollUntil } from "../harness/poll.js";
import { TARGET } from "./config.js";
import type { ApiCall } from "./emulator-thread.js";
import { epochNow } from "./emulators.js";
import { progress, sec } from "./report.js";
import { post } from "./traffic.js";
import { approveClick, createRequests, startBot, type World } from "./world.js";

export async function measureWorkerCrash(world: World, index: number): Promise<void> {
  const { report, emu } = world;
  report.section = 5;
  progress("5. a worker killed with SIGKILL mid-promotion (takes ~10 s)");
  const bot = await startBot(world, "bot 3", "bot");
  const worker1 = await startBot(world, "worker 1", "worker", { LOG_LEVEL: "info" });
  const target = world.connections[index];
  if (!target) throw new Error("no connection for the crash run");
  const crash = await createRequests(world, bot, [index], "crash");
  const approval = crash.approvals[0];
  if (!approval) throw new Error("no approval message for the crash run");
  await emu.call({
    op: "injectFault",
    fault: {
      method: "GET",
      path: `/api/v2/connections/${target.id}`,
      kind: "delay",
      delayMs: 60_000,
    },
  });
  const from = await emu.call<number>({ op: "apiCallCount" });
  const click = await post(
    `http://127.0.0.1:${bot.port}/slack/events`,
    approveClick(world, approval, "crash"),
  );
  if (click.status !== 200) throw new Error(`a click was answered ${click.status}`);
  await worker1.waitForOutput(/change started/, 10_000);
  // Kill it once its read has reached Auth0, which holds it: the worker dies mid-call.
  await pollUntil(
    async () =>
      (await emu.call<ApiCall[]>({ op: "apiCalls", from })).some(
        (c) => c.method === "GET" && c.path === `/api/v2/connections/${target.id}`,
      ),
    { timeoutMs: 10_000, timedOut: () => new Error("the worker's read never reached Auth0") },
  );
  worker1.proc.kill("SIGKILL");
  await worker1.exited();
  const killedAt = epochNow();
  const worker2 = await startBot(world, "worker 2", "worker");
  const patch = await emu.call<{ at: number; status: number }>({
    op: "waitForPatch",
    connectionId: target.id,
    timeoutMs: 40_000,
  });
  const resumed = emu.ours(patch.at) - killedAt;
  report.row(
    "5. kill -9 of a worker mid-job → PATCH by another",
    sec(resumed),
    `≤ ${TARGET.resumeMs / 1000} s`,
    resumed <= TARGET.resumeMs && patch.status === 200,
  );
  await worker2.stop();
  await bot.stop();
}
