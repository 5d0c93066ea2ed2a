import { DIST_MAIN, type NodeChild, spawnNode } from "../../src/dev/harness/children.js";

/** The bot as a real process (dist/main.js, built by the global setup), for kill and signal tests. */
export type BotProcess = NodeChild;

/**
 * `node dist/main.js ...args`, with `env` (and PATH) as its whole environment; in `cwd` (where it
 * looks for .env) when given.
 */
export async function startBotProcess(
  args: string[],
  env: Record<string, string>,
  options: { cwd?: string } = {},
): Promise<BotProcess> {
  return spawnNode("the bot", [DIST_MAIN, ...args], { env, cwd: options.cwd });
}
