/**
 * Sections 0 and 1: how fast the bot acks 200 commands, then 200 approve clicks, arriving at
 * once, beside two floors: a bare node:http server on this machine, then the bot answering
 * `help`, which is all ack and no work.
 */
import { slashCommandBody } from "../emulators/slack-requests.js";
import { freeLoopbackPort } from "../harness/ports.js";
import { creationCostRow, promotionCostRow } from "./auth0-cost.js";
import { BURST, GENERAL, READY_MS, SETTLE_MS, TARGET, TEAM_ID } from "./config.js";
import type { ApiCall } from "./emulator-thread.js";
import { ms, percentile, progress, sec } from "./report.js";
import { burst, expectOk, signed, warmUp } from "./traffic.js";
import {
  approveClick,
  type Bot,
  createRequests,
  drain,
  requester,
  settle,
  type World,
} from "./world.js";

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

/** `help` commands, one per requester: acked with text, nothing done after. */
function helps(world: World, indexes: number[]) {
  return indexes.map((i) =>
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
}

/** 0. The same burst sent to a bare node:http server. */
export async function measureFloor(world: World, indexes: number[]): Promise<void> {
  const { report } = world;
  report.section = 0;
  progress(`0. ${BURST} requests at once to a bare node:http server (the machine's floor)`);
  const port = await freeLoopbackPort();
  const bare = world.children.spawn("bare server", ["-e", BARE_SERVER], {
    env: { PORT: String(port) },
    cwd: world.cwd,
  });
  await bare.waitForOutput(/listening/, READY_MS);
  await warmUp(`http://127.0.0.1:${port}`, BURST);
  const bareMs = (await burst(`http://127.0.0.1:${port}/`, helps(world, indexes))).answers.map(
    (a) => a.ms,
  );
  await bare.stop();
  report.row(
    `0. floor: ${BURST} at once to a bare node:http server: p50 / p99`,
    `${ms(percentile(bareMs, 50))} / ${ms(percentile(bareMs, 99))}`,
  );
}

/** 1. Acks of `help`, of commands and of approve clicks, 200 at once each; then all promoted. */
export async function measureAcks(world: World, bot: Bot, indexes: number[]): Promise<void> {
  const { report } = world;
  const base = `http://127.0.0.1:${bot.port}`;
  const events = `${base}/slack/events`;
  report.section = 1;
  progress(`1. ${BURST} help commands at once (nothing to do after the ack)`);
  await warmUp(base, BURST);
  const help = await burst(events, helps(world, indexes));
  expectOk("help commands", help.answers);
  const helpMs = help.answers.map((a) => a.ms);
  report.row(
    `1. ack of ${BURST} \`help\` at once (no work after it): p50 / p99`,
    `${ms(percentile(helpMs, 50))} / ${ms(percentile(helpMs, 99))}`,
  );

  progress(`1. ${BURST} commands at once`);
  const created = await createRequests(world, bot, indexes, "burst");
  const ackMs = created.acks.map((a) => a.ms);
  const cmdP99 = percentile(ackMs, 99);
  report.row(
    `1. ack of ${BURST} commands at once: p50 / p95`,
    `${ms(percentile(ackMs, 50))} / ${ms(percentile(ackMs, 95))}`,
  );
  report.row(`   … p99`, ms(cmdP99), `≤ ${TARGET.ackP99Ms} ms`, cmdP99 <= TARGET.ackP99Ms);
  report.row(`   … max`, ms(Math.max(...ackMs)), "< 3 s (Slack)", Math.max(...ackMs) < 3000);
  report.note(`benchmark's own event-loop lag during the command burst: max ${ms(created.lagMs)}`);
  creationCostRow(report, `1. ${BURST} commands`, created.calls, BURST);

  progress(`1. ${BURST} approve clicks at once`);
  const ids = created.approvals.map((a) => a.requestId);
  const beforeClicks = await world.emu.call<number>({ op: "apiCallCount" });
  await warmUp(base, BURST);
  const clicks = await burst(
    events,
    created.approvals.map((a) => approveClick(world, a, "burst")),
  );
  expectOk("approve clicks", clicks.answers);
  const clickMs = clicks.answers.map((a) => a.ms);
  const clickP99 = percentile(clickMs, 99);
  const clicksAt = Math.min(...clicks.answers.map((a) => a.sentAt));
  report.row(
    `1. ack of ${BURST} approve clicks at once: p50 / p95`,
    `${ms(percentile(clickMs, 50))} / ${ms(percentile(clickMs, 95))}`,
  );
  report.row(`   … p99`, ms(clickP99), `≤ ${TARGET.ackP99Ms} ms`, clickP99 <= TARGET.ackP99Ms);
  report.row(`   … max`, ms(Math.max(...clickMs)), "< 3 s (Slack)", Math.max(...clickMs) < 3000);
  report.note(`benchmark's own event-loop lag during the click burst: max ${ms(clicks.lagMs)}`);
  const settled = await settle(world, ids, SETTLE_MS);
  const failed = [...settled.states.values()].filter((s) => s !== "DONE").length;
  report.row(
    `   ${BURST} clicks → all promoted (unpaced Auth0)`,
    sec(settled.at - clicksAt),
    failed ? `${failed} not DONE` : "",
    failed ? false : undefined,
  );
  const workerCalls = await world.emu.call<ApiCall[]>({ op: "apiCalls", from: beforeClicks });
  promotionCostRow(report, workerCalls, BURST);
  const drained = await drain(world, SETTLE_MS);
  report.row(`   … then Slack outbox drained after`, sec(settled.at - clicksAt + drained));
}
