/** What `npm run bench` runs and against which targets: every count, rate and deadline. */

/** Commands, then approve clicks, arriving at once. */
export const BURST = 200;
/** Sequential approvals, each waiting for its PATCH. */
export const SEQUENTIAL = 50;
/** Promotions enqueued at once through a rate-limited Auth0. */
export const PACED = 60;
/** Auth0's bucket in the paced run: R requests/s, burst R. */
export const RATE = 10;
/** Auth0 pace for everything but the paced run: the emulator does not limit it then. */
export const UNPACED_RATE = 1000;

/** Targets, as DESIGN.md states them. */
export const TARGET = {
  ackP99Ms: 50,
  patchMedianMs: 10,
  share429: 0.01,
  paceRatio: 1.05,
  rssMb: 120,
  /** A job whose worker died is taken up by another within 10 s (issue: faster recovery). */
  resumeMs: 10_000,
};

/** The whole run, start-up and clean-up included. */
export const OVERALL_MS = 115_000;
export const READY_MS = 20_000;
export const CREATE_MS = 30_000;
export const SETTLE_MS = 60_000;
export const HTTP_TIMEOUT_MS = 10_000;

export const SIGNING_SECRET = "bench-signing-secret-not-a-real-one";
export const TEAM_ID = "T0BENCH01";
export const APPROVER = "UBENCHAPPR";
export const APPROVALS = "CBENCHAPPR";
export const AUDIT = "CBENCHAUDT";
export const GENERAL = "CBENCHGENL";

/**
 * Node options for the bot processes: by default the memory flags that `npm start` and the
 * Docker image use; BENCH_NODE_ARGS replaces them (e.g. "--cpu-prof" to profile, "" for none).
 */
const PRODUCTION_NODE_ARGS = "--max-semi-space-size=4 --max-old-space-size=128";
export const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? PRODUCTION_NODE_ARGS)
  .split(/\s+/)
  .filter(Boolean);
