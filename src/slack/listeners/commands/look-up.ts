import { ManagementApiError } from "../../../auth0/errors.js";
import type { Connection } from "../../../auth0/management.js";
import { errorInWords } from "../../../jobs/promote-processor.js";
import type { BotDeps } from "../../deps.js";
import type { ConnectionRef } from "../../parse-command.js";
import { COMMAND } from "../../views/replies.js";
import { code, escapeMrkdwn } from "../../views/text.js";

const SUBCOMMAND_LIST = "`promote`, `demote`, `status`, `list`, `cancel`, `history` and `help`";

/** Ends a command with a message for the person who typed it. */
export class Refusal extends Error {}

export function refLabel(ref: ConnectionRef): string {
  return ref.kind === "id" ? code(ref.id) : code(ref.name);
}

/** Finds a connection by id or exact name; anything but success becomes a Refusal in words. */
export async function lookUpConnection(deps: BotDeps, ref: ConnectionRef): Promise<Connection> {
  try {
    if (ref.kind === "id") return await deps.auth0.getConnection(ref.id);
    const found = await deps.auth0.findConnectionByName(ref.name);
    if (!found) {
      throw new Refusal(
        `:grey_question: No connection named ${code(ref.name)} exists in this Auth0 tenant. Check the name (it is case-sensitive) or use the connection id (\`con_…\`). If you meant a subcommand, they are ${SUBCOMMAND_LIST}: see \`${COMMAND} help\`.`,
      );
    }
    return found;
  } catch (err) {
    if (err instanceof Refusal) throw err;
    if (err instanceof ManagementApiError && err.status === 404) {
      throw new Refusal(
        `:grey_question: No connection ${refLabel(ref)} exists in this Auth0 tenant. Nothing was requested.`,
      );
    }
    throw new Refusal(
      `:warning: Could not look up ${refLabel(ref)} in Auth0: ${escapeMrkdwn(errorInWords(err))}. Nothing was requested; try again in a minute.`,
    );
  }
}
