import { ManagementApiError } from "../../../auth0/errors.js";
import { LimiterBusyError } from "../../../auth0/rate-limiter.js";
import { errorInWords } from "../../../error-words.js";
import type { ChangeKind, TargetRef } from "../../../requests/changes/index.js";
import type { ChangeTarget } from "../../../requests/model.js";
import { type Tenant, tenantLabel } from "../../../requests/tenants.js";
import { COMMAND } from "../../views/replies.js";
import { code, escapeMrkdwn } from "../../views/text.js";
import { type CommandContext, Refusal } from "./types.js";

export function refLabel(ref: TargetRef): string {
  return ref.kind === "id" ? code(ref.id) : code(ref.name);
}

/** "`a`, `b` and `c`" */
function listed(names: readonly string[]): string {
  const quoted = names.map((n) => `\`${n}\``);
  return quoted.length <= 1
    ? quoted.join("")
    : `${quoted.slice(0, -1).join(", ")} and ${quoted[quoted.length - 1]}`;
}

/** Finds a target by id or exact name; anything but success becomes a Refusal in words. */
export async function lookUpTarget(
  ctx: CommandContext,
  tenant: Tenant,
  kind: ChangeKind,
  ref: TargetRef,
): Promise<ChangeTarget> {
  const noun = kind.targetNoun;
  const where = tenantLabel(tenant.settings.name, tenant.settings.domain);
  try {
    const found = await kind.lookUp(tenant.auth0, ref);
    if (!found && ref.kind === "name") {
      throw new Refusal(
        `:grey_question: No ${noun} named ${code(ref.name)} exists in ${where}. Check the name (it is case-sensitive) or use the ${noun} id (\`con_…\`). If you meant a subcommand, they are ${listed(ctx.subcommandNames)}: see \`${COMMAND} help\`.`,
      );
    }
    if (!found) throw new Refusal(notFound(noun, ref, where));
    return found;
  } catch (err) {
    if (err instanceof Refusal) throw err;
    if (err instanceof ManagementApiError && err.status === 404) {
      throw new Refusal(notFound(noun, ref, where));
    }
    if (err instanceof LimiterBusyError) {
      throw new Refusal(
        `:hourglass: Auth0 is busy carrying out approved changes; try again in ${Math.ceil(err.retryAfterMs / 1000)} s. Nothing was requested.`,
      );
    }
    throw new Refusal(
      `:warning: Could not look up ${refLabel(ref)} in Auth0: ${escapeMrkdwn(errorInWords(err))}. Nothing was requested; try again in a minute.`,
    );
  }
}

function notFound(noun: string, ref: TargetRef, where: string): string {
  return `:grey_question: No ${noun} ${refLabel(ref)} exists in ${where}. Nothing was requested.`;
}
