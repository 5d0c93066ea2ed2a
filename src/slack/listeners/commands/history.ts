import { connectionDomainLevel } from "../../../requests/changes/connection-domain-level.js";
import type { TargetRef } from "../../../requests/changes/index.js";
import { splitFirst } from "../../command-text.js";
import { code, escapeMrkdwn, slackDate } from "../../views/text.js";
import { subcommand } from "./types.js";

/** `history [connection]`: recent audit events from the Redis stream, newest first. */
export const history = subcommand<{ target: TargetRef | undefined }>({
  name: "history",
  args: "[con_id | name]",
  does: "recent audit events, newest first",
  parse(rest) {
    const [word, extra] = splitFirst(rest);
    if (extra) return { invalid: "`history` takes at most one connection." };
    if (!word) return { target: undefined };
    const ref = connectionDomainLevel.parseTarget(word);
    return "invalid" in ref ? ref : { target: ref };
  },
  async run({ deps, reply }, { target }) {
    const records = await deps.auditLog.recent({
      target: target
        ? target.kind === "id"
          ? { id: target.id }
          : { name: target.name }
        : undefined,
      limit: 20,
    });
    const about = target ? ` for ${code(target.kind === "id" ? target.id : target.name)}` : "";
    if (records.length === 0) {
      await reply(`:scroll: No audit events${about} yet.`);
      return;
    }
    const lines = records.map((r) => {
      const who = r.actorId ? `<@${r.actorId}>` : "the bot";
      const detail = r.detail
        ? `: ${escapeMrkdwn(r.detail.length > 200 ? `${r.detail.slice(0, 199)}…` : r.detail)}`
        : "";
      return `• ${slackDate(r.at)} *${r.event}* ${code(r.requestId)} ${r.action} ${code(r.targetName)} by ${who}${r.dryRun ? " (dry run)" : ""}${detail}`;
    });
    await reply([`:scroll: Recent audit events${about}, newest first:`, ...lines].join("\n"));
  },
});
