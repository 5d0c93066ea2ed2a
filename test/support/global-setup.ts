import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type RedisServer, startRedisServer } from "./redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** Tests that run the bot as a child process (kill -9, SIGTERM) run the built dist/main.js. */
function buildDist(): void {
  const tsc = join(process.cwd(), "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`building dist/ failed:\n${result.stdout}${result.stderr}`);
  }
}

let redis: RedisServer | undefined;

/**
 * Starts a throwaway redis-server on a free loopback port for the whole test run, unless
 * REDIS_URL already points at one. Tests read the URL with inject("redisUrl").
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  buildDist();
  if (process.env.REDIS_URL) {
    project.provide("redisUrl", process.env.REDIS_URL);
    return async () => {};
  }
  redis = await startRedisServer(["--appendonly", "no"]);
  project.provide("redisUrl", redis.url);
  return async () => {
    await redis?.stop();
  };
}
