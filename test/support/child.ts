import { DIST_MAIN, type NodeChild, spawnNode } from "../../src/dev/harness/children.js";

/** The bot as a real process (dist/main.js, built by the global setup), for kill and signal tests. */
export type BotProcess = NodeChild;

/** `node dist/main.js ...args`, with `env` (and PATH) as its whole environment. */
export async function startBotProcess(
  args: string[],
  env: Record<string, string>,
): Promise<BotProcess> {
  return spawnNode("the bot", [DIST_MAIN, ...args], { env });
}
