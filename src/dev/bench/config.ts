/** What `npm run bench` runs and against which targets: every count, rate and deadline. */

/** Commands, then approve clicks, arriving at once. */
export const BURST = 200;
/** Sequential approvals, each waiting for its PATCH. */
export const SEQUENTIAL = 50;
/** An Auth0 token bucket: `perSecond` requests refilled each second, at most `burst` at once. */
export interface Bucket {
  perSecond: number;
  burst: number;
}

/**
 * Section 3: promotions approved at once through a limited Auth0, with nothing configured
 * (AUTH0_MAX_REQUESTS_PER_SECOND unset): a production bucket with one process and with a fleet,
 * a non-production bucket, and the official SDK promoting as many connections as the peer.
 */
export const PROMOTIONS = 200;
export const PRODUCTION_BUCKET: Bucket = { perSecond: 20, burst: 20 };
/** Row 3b: this many `--role worker` processes, plus a bot serving the clicks. */
export const FLEET_WORKERS = 4;
export const NON_PRODUCTION_PROMOTIONS = 10;
export const NON_PRODUCTION_BUCKET: Bucket = { perSecond: 0.5, burst: 5 };
/** The peer (node-auth0's ManagementClient) promotes this many connections at a time. */
export const PEER_CONCURRENCY = 10;
/** Auth0 pace for everything but section 3: the emulator does not limit it then. */
export const UNPACED_RATE = 1000;

/**
 * Section 8: the request form's type-ahead over a tenant of this many connections (the bench's
 * own and generated ones, 50 pages of 100), listed through {@link PRODUCTION_BUCKET}, then this
 * many keystrokes typed within the list's minute in the cache.
 */
export const PICKER_TENANT_SIZE = 5_000;
export const PICKER_KEYSTROKES = 200;
/** The typing of section 8, from the first keystroke to the last (well inside the 60 s cache). */
export const PICKER_TYPING_MS = 40_000;

/** Targets, as DESIGN.md states them. */
export const TARGET = {
  ackP99Ms: 50,
  patchMedianMs: 10,
  share429: 0.01,
  paceRatio: 1.05,
  rssMb: 120,
  /** Tokens fetched per tenant by the whole fleet in a row of section 3. */
  tokensPerFleet: 1,
  /** A job whose worker died is taken up by another within 10 s (issue: faster recovery). */
  resumeMs: 10_000,
  /** Slack waits this long for any answer, a type-ahead's options included. */
  slackAnswerMs: 3_000,
  /** Slack's limits for an options answer: options, and characters of an option's text. */
  maxOptions: 100,
  maxOptionText: 75,
};

/**
 * The whole run, start-up and clean-up included (section 3 alone takes about 2 minutes, section 8
 * about 15 s: three bot processes, two listings through the bucket, 400 requests one at a time).
 */
export const OVERALL_MS = 480_000;
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
