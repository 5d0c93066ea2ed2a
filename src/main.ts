import { parseArgs } from "node:util";
import { config as loadDotenv } from "dotenv";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./log.js";
import { type Role, type Running, start } from "./runtime.js";

const ROLES: readonly Role[] = ["all", "bot", "worker"];

function readRole(argv: string[]): Role {
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
  return role as Role;
}

async function main(): Promise<void> {
  const role = readRole(process.argv.slice(2));
  loadDotenv({ quiet: true });
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error("promote-connection cannot start; fix these settings (environment or .env):");
      for (const problem of err.problems) console.error(`  ✗ ${problem}`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, pretty: process.stdout.isTTY === true });

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
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  try {
    running = await start(config, { role, logger });
  } catch (err) {
    logger.fatal({ err }, "promote-connection could not start");
    process.exit(1);
  }
}

void main();
