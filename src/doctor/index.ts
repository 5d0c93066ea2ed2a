import { errorInWords } from "../error-words.js";
import { redactSecrets } from "../log.js";
import { auth0Names, checkAuth0 } from "./auth0.js";
import { checkConfig } from "./config.js";
import { checkRedis, redisNames, redisPassword } from "./redis.js";
import { type CheckResult, doctorExitCode, fail, formatReport, skip } from "./report.js";
import { checkSlack, slackNames } from "./slack.js";

export { type CheckResult, type CheckStatus, doctorExitCode, formatReport } from "./report.js";

/**
 * `npm run doctor`: checks, one line each, that what the bot needs is in place — the settings,
 * Redis (reachable, noeviction, persistent), Slack (token, channels), Auth0 (token, scopes,
 * Dynamic Client Registration) — and says how to fix each problem. It reads and never writes:
 * no Slack message is posted, no Redis key is set, no connection is touched.
 */

export interface DoctorOptions {
  /** Bounds each network call (connect, answer); default 5000 ms. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** Runs every check; never throws, never hangs (each call is bounded by `timeoutMs`). */
export async function runDoctor(
  env: NodeJS.ProcessEnv,
  opts: DoctorOptions = {},
): Promise<CheckResult[]> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const scrub = secretScrubber(env);

  const { config, results: configResults } = checkConfig(env);

  let results: CheckResult[];
  if (!config) {
    const reason = "the configuration is invalid";
    results = [
      ...configResults,
      ...redisNames().map((name) => skip(name, reason)),
      ...slackNames(env).map((name) => skip(name, reason)),
      ...auth0Names().map((name) => skip(name, reason)),
    ];
  } else {
    // The three services are independent: ask them at once, so an unreachable one costs one
    // timeout, not three. A group that overruns its deadline still yields its lines.
    const deadlineMs = timeoutMs * 4 + 1_000;
    const [redis, slack, auth0] = await Promise.all([
      guarded(redisNames(), deadlineMs, () => checkRedis(config, timeoutMs)),
      guarded(slackNames(env), deadlineMs, () => checkSlack(config, timeoutMs)),
      guarded(auth0Names(), deadlineMs, () => checkAuth0(config, timeoutMs)),
    ]);
    results = [...configResults, ...redis, ...slack, ...auth0];
  }
  return results.map((r) => ({
    ...r,
    detail: scrub(r.detail),
    ...(r.fix === undefined ? {} : { fix: scrub(r.fix) }),
  }));
}

/** Runs the checks and prints the report, line by line; returns the process exit code. */
export async function doctorMain(
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
  opts: DoctorOptions = {},
): Promise<number> {
  const results = await runDoctor(env, opts);
  for (const line of formatReport(results).split("\n")) out(line);
  return doctorExitCode(results);
}

/** Replaces every secret the environment holds, and anything shaped like one, in `text`. */
function secretScrubber(env: NodeJS.ProcessEnv): (text: string) => string {
  const secrets = [
    env.SLACK_BOT_TOKEN,
    env.SLACK_SIGNING_SECRET,
    env.SLACK_APP_TOKEN,
    env.AUTH0_CLIENT_SECRET,
    redisPassword(env.REDIS_URL),
    env.REDIS_SENTINEL_PASSWORD,
  ]
    .map((s) => s?.trim())
    .filter((s): s is string => typeof s === "string" && s.length >= 4)
    // Longest first, so a secret that contains another is replaced whole.
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join("[REDACTED]");
    return redactSecrets(out);
  };
}

/**
 * Runs a group of checks; if it throws or overruns `deadlineMs`, its first line fails with the
 * reason and the others are skipped, so the report always has the same lines.
 */
async function guarded(
  names: string[],
  deadlineMs: number,
  run: () => Promise<CheckResult[]>,
): Promise<CheckResult[]> {
  const [first = "check", ...rest] = names;
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<CheckResult[]>((resolve) => {
    timer = setTimeout(() => {
      resolve([
        fail(
          first,
          `no answer within ${Math.round(deadlineMs / 1000)} s`,
          "check the network between this host and the service",
        ),
        ...rest.map((name) => skip(name, `${first} did not answer`)),
      ]);
    }, deadlineMs);
    timer.unref();
  });
  try {
    return await Promise.race([run(), overrun]);
  } catch (err) {
    return [
      fail(first, `the check itself failed: ${errorInWords(err)}`, "report this as a bug"),
      ...rest.map((name) => skip(name, `${first} could not be checked`)),
    ];
  } finally {
    clearTimeout(timer);
  }
}
