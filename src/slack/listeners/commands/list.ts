import { requestSummary } from "../../views/replies.js";
import { type Invalid, maybeTenant, subcommand } from "./types.js";

const SHOWN = 20;

/** `list [tenant]`: open requests; for an approver, which of them wait for them. */
export const list = subcommand<{ tenant: string | undefined }>({
  name: "list",
  audience: "readers",
  args: "",
  tenantWord: "optional",
  does: "open requests (and which wait for you)",
  parse(text, ctx): { tenant: string | undefined } | Invalid {
    const { tenant, rest } = maybeTenant(text, ctx);
    if (rest.trim()) {
      return {
        invalid:
          ctx.tenants.length > 1
            ? `\`list\` takes at most a tenant: ${ctx.tenants.map((t) => `\`${t}\``).join(", ")}.`
            : "`list` takes no arguments.",
      };
    }
    return { tenant };
  },
  async run({ deps, userId, reply }, { tenant }) {
    const open = (await deps.store.openRequests(100)).filter(
      (r) => tenant === undefined || r.tenant === tenant,
    );
    if (open.length === 0) {
      await reply(`:sparkles: No open requests${tenant ? ` in ${tenant}` : ""}.`);
      return;
    }
    const waitingForYou = await deps.policy.waitingFor(userId, open);
    const others = open.filter((r) => !waitingForYou.includes(r));
    const lines: string[] = [];
    if (waitingForYou.length > 0) {
      lines.push(
        `*Waiting for you* (${waitingForYou.length}):`,
        ...waitingForYou.slice(0, SHOWN).map(requestSummary),
        "",
      );
    }
    if (others.length > 0) {
      lines.push(
        `*Open requests* (${others.length}):`,
        ...others.slice(0, SHOWN).map(requestSummary),
      );
    }
    if (open.length > 2 * SHOWN) lines.push(`…and more; the oldest are shown first.`);
    await reply(lines.join("\n"));
  },
});
