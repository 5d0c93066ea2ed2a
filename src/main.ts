import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { config as loadDotenv } from "dotenv";
import { type Config, ConfigError, configWarnings, loadConfig } from "./config.js";
import { startHint } from "./config-hint.js";
import { doctorMain } from "./doctor/index.js";
import { type EmbeddedRedis, startEmbeddedRedis } from "./embedded-redis.js";
import { createLogger } from "./log.js";
import { type Role, type Running, start } from "./runtime/index.js";

const ROLES: readonly (Role | "doctor")[] = ["all", "bot", "worker", "doctor"];

function readRole(argv: string[]): Role | "doctor" {
  const { values } = parseArgs({
    args: argv,
    options: { role: { type: "string" } },
    strict: false,
  });
  const role = String(values.role ?? process.env.ROLE ?? "all");
  if (!ROLES.includes(role as Role)) {
    console.error(`--role (or ROLE) must be one of ${ROLES.join(", ")}, not "${role}"`);
    process.exit(2);
  }
  return role as Role | "doctor";
}

async function main(): Promise<void> {
  const role = readRole(process.argv.slice(2));
  const dotenv = loadDotenv({ quiet: true });
  if (role === "doctor") process.exit(await doctorMain(process.env, (line) => console.log(line)));
  // No Redis named at all (an empty line counts as none): run our own redis-server, if there is
  // one. Sentinels or Cluster nodes name a Redis without REDIS_URL.
  const named = ["REDIS_URL", "REDIS_SENTINELS", "REDIS_CLUSTER_NODES"];
  const embeddedWanted = !named.some((name) => process.env[name]?.trim());
  if (embeddedWanted) delete process.env.REDIS_URL;
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error("promote-connection cannot start; fix these settings (environment or .env):");
      for (const problem of err.problems) console.error(`  ✗ ${problem}`);
      console.error("");
      for (const line of startHint(process.env, !dotenv.error)) console.error(line);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, pretty: process.stdout.isTTY === true });
  for (const { text, fix } of configWarnings(config)) logger.warn({ fix }, text);

  let embeddedRedis: EmbeddedRedis | undefined;
  if (embeddedWanted) {
    try {
      embeddedRedis = await startEmbeddedRedis({
        dataDir: fileURLToPath(new URL("../.data/redis", import.meta.url)),
        logger,
      });
    } catch (err) {
      console.error(
        `promote-connection cannot start: ${err instanceof Error ? err.message : String(err)}`,
      );
      process.exit(1);
    }
    config = { ...config, redis: { ...config.redis, url: embeddedRedis.url } };
  }

  let running: Running | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight work");
    // Bounded: a job that does not finish in time is retried by another worker after its lock lapses.
    const deadline = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, 25_000);
    deadline.unref();
    await running?.stop();
    await embeddedRedis?.stop();
    logger.info("stopped");
    process.exit(process.exitCode ?? 0);
  };
  // A failure nothing awaited (e.g. Socket Mode unable to reconnect with a revoked token): say
  // so and exit non-zero, so the supervisor restarts the bot rather than leaving it deaf.
  process.on("unhandledRejection", (err) => {
    logger.fatal({ err }, "unexpected failure; exiting so that the bot is restarted");
    process.exitCode = 1;
    void shutdown("unhandledRejection");
  });
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  try {
    running = await start(config, { role, logger });
  } catch (err) {
    logger.fatal({ err }, "promote-connection could not start");
    await embeddedRedis?.stop();
    process.exit(1);
  }
}

void main();
