import { type AuditEvent, type AuditRecord, auditDetail } from "../../../requests/audit-log.js";
import { connectionDomainLevel } from "../../../requests/changes/connection-domain-level.js";
import type { TargetRef } from "../../../requests/changes/index.js";
import { splitFirst } from "../../command-text.js";
import type { BotDeps } from "../../deps.js";
import { code, escapeMrkdwn, slackDate } from "../../views/text.js";
import { maybeTenant, subcommand } from "./types.js";

/** `history [tenant] [connection]`: recent audit events from the Redis stream, newest first. */
export const history = subcommand<{ tenant: string | undefined; target: TargetRef | undefined }>({
  name: "history",
  audience: "readers",
  args: "[con_id | name]",
  tenantWord: "optional",
  does: "recent audit events, newest first",
  parse(text, ctx) {
    const { tenant, rest } = maybeTenant(text, ctx);
    const [word, extra] = splitFirst(rest);
    if (extra) return { invalid: "`history` takes at most a tenant and one connection." };
    if (!word) return { tenant, target: undefined };
    const ref = connectionDomainLevel.parseTarget(word);
    return "invalid" in ref ? ref : { tenant, target: ref };
  },
  async run({ deps, userId, reply }, { tenant, target }) {
    const records = await deps.auditLog.recent({
      tenant,
      target: target
        ? target.kind === "id"
          ? { id: target.id }
          : { name: target.name }
        : undefined,
      limit: 20,
    });
    const about = [
      target ? ` for ${code(target.kind === "id" ? target.id : target.name)}` : "",
      tenant ? ` in ${tenant}` : "",
    ].join("");
    if (records.length === 0) {
      await reply(`:scroll: No audit events${about} yet.`);
      return;
    }
    const readable = await wordsReadableBy(deps, userId, records);
    const lines = records.map((r) => {
      const who = r.actorId ? `<@${r.actorId}>` : "the bot";
      const shown = !PEOPLES_WORDS.has(r.event) || readable.has(r.requestId);
      const said = auditDetail(r);
      const text = shown ? said : said && WITHHELD;
      const detail = text
        ? `: ${escapeMrkdwn(text.length > 200 ? `${text.slice(0, 199)}…` : text)}`
        : "";
      return `• ${slackDate(r.at)} *${r.event}* ${code(r.requestId)} ${r.action} ${code(r.targetName)} in ${r.tenant} by ${who}${r.dryRun ? " (dry run)" : ""}${detail}`;
    });
    await reply([`:scroll: Recent audit events${about}, newest first:`, ...lines].join("\n"));
  },
});

/** Events whose detail is what a person wrote: a request's reason, a denial's reason. */
const PEOPLES_WORDS: ReadonlySet<AuditEvent> = new Set(["requested", "denied"]);
const WITHHELD = "(reason shown only to the requester and the approvers)";

/** The requests among these events whose reasons this person may read (RequestPolicy). */
async function wordsReadableBy(
  deps: BotDeps,
  userId: string,
  records: readonly AuditRecord[],
): Promise<Set<string>> {
  const ids = new Set(records.filter((r) => PEOPLES_WORDS.has(r.event)).map((r) => r.requestId));
  const readable = new Set<string>();
  for (const request of await deps.store.getMany([...ids])) {
    if (await deps.policy.maySeeReasons(userId, request)) readable.add(request.id);
  }
  return readable;
}
