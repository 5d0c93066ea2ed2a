import type { BotDeps } from "../../deps.js";
import type { ConnectionRef } from "../../parse-command.js";
import { code, escapeMrkdwn, slackDate } from "../../views/text.js";
import type { Reply } from "./promote-connection.js";

/** `history [connection]`: recent audit events from the Redis stream, newest first. */
export async function showHistory(
  deps: BotDeps,
  connection: ConnectionRef | undefined,
  reply: Reply,
): Promise<void> {
  const records = await deps.auditLog.recent({
    connection: connection
      ? connection.kind === "id"
        ? { id: connection.id }
        : { name: connection.name }
      : undefined,
    limit: 20,
  });
  const about = connection
    ? ` for ${code(connection.kind === "id" ? connection.id : connection.name)}`
    : "";
  if (records.length === 0) {
    await reply(`:scroll: No audit events${about} yet.`);
    return;
  }
  const lines = records.map((r) => {
    const who = r.actorId ? `<@${r.actorId}>` : "the bot";
    const detail = r.detail
      ? `: ${escapeMrkdwn(r.detail.length > 200 ? `${r.detail.slice(0, 199)}…` : r.detail)}`
      : "";
    return `• ${slackDate(r.at)} *${r.event}* ${code(r.requestId)} ${r.action} ${code(r.connectionName)} by ${who}${r.dryRun ? " (dry run)" : ""}${detail}`;
  });
  await reply([`:scroll: Recent audit events${about}, newest first:`, ...lines].join("\n"));
}
