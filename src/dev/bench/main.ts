/**
 * `npm run bench`: measures the targets of DESIGN.md against the real bot, run as a child process
 * (`node dist/main.js`, HTTP mode) so that its memory is its own, fed Slack-signed requests over
 * real HTTP, with Slack and Auth0 emulated on loopback (in a worker thread, see emulator-thread.ts)
 * and a real Redis (a throwaway redis-server, or REDIS_URL with a random prefix, removed after).
 *
 * It prints a table: figure, measured value, target, ✓ or ✗. Every loop has a count and a
 * deadline. Exit 0 when it ran (even with a target missed), 1 when it could not.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cpus, platform, release, totalmem } from "node:os";
import { Queue } from "bullmq";
import { AUDIT_QUEUE, CHANGE_QUEUE, OUTBOX_QUEUE } from "../../jobs/queues.js";
import { redactSecrets } from "../../log.js";
import { createRedisClient, singleNodeSettings } from "../../redis.js";
import { RequestStore } from "../../requests/store.js";
import { ChildGroup, DIST_MAIN } from "../harness/children.js";
import { Cleanup, exitOnDeadlineOrSignal } from "../harness/cleanup.js";
import { redisForRun } from "../harness/redis.js";
import { measureAcks, measureFloor } from "./acks.js";
import { measureAuth0Cost } from "./auth0-cost.js";
import { measureClickToPatch } from "./click-to-patch.js";
import {
  BURST,
  FLEET_WORKERS,
  NON_PRODUCTION_BUCKET,
  NON_PRODUCTION_PROMOTIONS,
  OVERALL_MS,
  PRODUCTION_BUCKET,
  PROMOTIONS,
  SEQUENTIAL,
  SETTLE_MS,
  TEAM_ID,
  UNPACED_RATE,
} from "./config.js";
import type { EmulatorInfo } from "./emulator-thread.js";
import { Emulators } from "./emulators.js";
import { memoryRows } from "./memory.js";
import { createRowRequests, measurePaced } from "./paced.js";
import { measurePeer } from "./peer.js";
import { measurePicker } from "./picker.js";
import { measureRedisMemory } from "./redis-memory.js";
import { progress, Report, sec } from "./report.js";
import { agent } from "./traffic.js";
import { measureWorkerCrash } from "./worker-crash.js";
import { connection, drain, range, startBot, type World } from "./world.js";

/** Which emulated connections each measurement uses: each is used by one of them only. */
function connectionsFor() {
  let next = 0;
  const take = (n: number) => {
    const taken = range(next, n);
    next += n;
    return taken;
  };
  const plan = {
    burst: take(BURST),
    backToBack: take(SEQUENTIAL),
    fromIdle: take(SEQUENTIAL),
    onOneProcess: take(PROMOTIONS),
    onFleet: take(PROMOTIONS),
    peer: take(PROMOTIONS),
    nonProduction: take(NON_PRODUCTION_PROMOTIONS),
    crash: take(1)[0] as number,
  };
  return { ...plan, count: next };
}
const USES = connectionsFor();

/** The measurements in order. */
async function run(world: World): Promise<void> {
  progress(`starting the bot (role all, AUTH0_MAX_REQUESTS_PER_SECOND=${UNPACED_RATE})`);
  const bot1 = await startBot(world, "bot 1", "all");
  await measureFloor(world, USES.burst);
  await measureAcks(world, bot1, USES.burst);
  await measureClickToPatch(world, bot1, USES);

  // Section 3's requests are made here, where Auth0 is not limited, and not timed (their lookups
  // are not counted in section 3); then each row starts its own processes to serve the clicks.
  progress(`3. making ${2 * PROMOTIONS + NON_PRODUCTION_PROMOTIONS} requests for section 3`);
  const onOne = await createRowRequests(world, bot1, USES.onOneProcess, "paced-3a");
  const onFleet = await createRowRequests(world, bot1, USES.onFleet, "paced-3b");
  const nonProduction = await createRowRequests(world, bot1, USES.nonProduction, "paced-3c");
  await drain(world, SETTLE_MS);
  memoryRows(world, "bot+worker process 1 after 1–2", bot1, true);
  await bot1.stop();
  await measurePaced(world, {
    label: "3a",
    approvals: onOne,
    bucket: PRODUCTION_BUCKET,
    workers: 0,
  });
  await measurePaced(world, {
    label: "3b",
    approvals: onFleet,
    bucket: PRODUCTION_BUCKET,
    workers: FLEET_WORKERS,
  });
  await measurePaced(world, {
    label: "3c",
    approvals: nonProduction,
    bucket: NON_PRODUCTION_BUCKET,
    workers: 0,
  });
  await measurePeer(
    world,
    USES.peer.map((i) => connection(i).id),
  );

  await measureWorkerCrash(world, USES.crash);
  await measureRedisMemory(world.redis, world.report);
  // Last but the tally: it grows the emulated tenant to thousands of connections.
  await measurePicker(world);
  await measureAuth0Cost(world);
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

/** Starts Redis, the queues and the emulators, each with its clean-up step, then runs. */
async function setUpAndRun(cleanup: Cleanup, children: ChildGroup, report: Report) {
  const cwd = cleanup.tempDir("promote-connection-bench-");
  cleanup.add("closing the HTTP agent", () => agent.close());
  const prefix = `bench-${randomBytes(4).toString("hex")}`;
  const { url: redisUrl, dataDir } = await redisForRun({
    prefix,
    cleanup,
    tempPrefix: "promote-connection-bench-redis-",
    whenMissing:
      "the benchmark runs its own redis-server and there is none on PATH: install Redis 7, " +
      "or set REDIS_URL to a Redis it may use (it writes keys under bench-…: and removes them).",
  });

  const emu = new Emulators();
  cleanup.add("closing the emulators", () => emu.close());
  const redis = createRedisClient(singleNodeSettings(redisUrl, prefix), "promote-connection:bench");
  cleanup.add("closing the Redis client", () => redis.disconnect());
  let redisError = "";
  redis.on("error", (err: Error) => {
    redisError = err.message;
  });
  try {
    await redis.ping();
  } catch (err) {
    throw new Error(
      `Redis at ${redactSecrets(redisUrl)} does not answer (${redisError || (err as Error).message})`,
    );
  }
  console.log(
    dataDir
      ? `Redis: a throwaway redis-server at ${redactSecrets(redisUrl)} (appendonly, fsync every second)\n`
      : `Redis: ${redactSecrets(redisUrl)} (REDIS_URL), keys under ${prefix}: removed afterwards\n`,
  );
  const queues = [CHANGE_QUEUE, OUTBOX_QUEUE, AUDIT_QUEUE].map((name) => {
    const queue = new Queue(name, { connection: redis, prefix });
    queue.on("error", () => undefined); // the client's error handler above has it
    cleanup.add("closing a queue", () => queue.close());
    return queue;
  });
  cleanup.add("stopping the bots", () => children.stopAll());

  const connections = range(0, USES.count).map(connection);
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
    children,
    report,
    auth0Cost: { batches: [], botsStarted: 0, peerTokens: 0 },
  });
}

async function main(): Promise<number> {
  if (!existsSync(DIST_MAIN)) {
    console.error(`${DIST_MAIN} is missing: run npm run build first.`);
    return 1;
  }
  const cleanup = new Cleanup();
  // Whatever happens, no bot is left running: the group kills them when this process exits.
  const children = new ChildGroup();
  const report = new Report();
  const disarm = exitOnDeadlineOrSignal({
    cleanup,
    children,
    deadlineMs: OVERALL_MS,
    deadlineMessage: `The benchmark did not finish within ${sec(OVERALL_MS)}`,
    noun: "the benchmark",
    graceMs: 5_000,
  });

  let failure: unknown;
  header();
  try {
    await setUpAndRun(cleanup, children, report);
  } catch (err) {
    failure = err;
  }
  disarm();

  report.print();
  const lastOutput = failure
    ? children.list().map((c) => `${c.name}:\n${c.output().slice(-3000)}`)
    : [];
  const problems = await cleanup.run();
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
