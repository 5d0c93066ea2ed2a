import type { AllMiddlewareArgs, AnyMiddlewareArgs } from "@slack/bolt";

export type GuardArgs = AnyMiddlewareArgs & AllMiddlewareArgs;

/** The parts of a payload a guard reads, whatever its type. */
interface GuardBody {
  type?: string;
  command?: string;
  response_url?: string;
  user?: { id?: string } | string;
  view?: { state?: { values?: Record<string, unknown> } };
}

/** Who acts: the user of a command or interaction, or of the event (App Home). */
export function actingUserId(body: unknown): string | undefined {
  const b = body as GuardBody & { user_id?: string; event?: { user?: unknown } };
  if (typeof b.user_id === "string") return b.user_id;
  if (typeof b.user === "object" && typeof b.user?.id === "string") return b.user.id;
  return typeof b.event?.user === "string" ? b.event.user : undefined;
}

export interface RefuseOptions {
  /**
   * A click with no response URL (on the App Home tab) can only be answered by a direct
   * message, a Web API call; false leaves it unanswered (a flood must not become a flood of DMs).
   */
  directMessage?: boolean;
}

/**
 * Stops a command, click or modal submission with words only its person sees, before any
 * listener runs: a command in its ack, a click under the message clicked (or by direct message
 * from the App Home tab), a modal submission as an error on its first field, a type-ahead with no
 * options. Events carry nothing to answer and are only dropped.
 */
export async function refuse(
  args: GuardArgs,
  text: string,
  options: RefuseOptions = {},
): Promise<void> {
  const body = args.body as GuardBody;
  const ack = "ack" in args ? (args.ack as (response?: unknown) => Promise<void>) : undefined;
  if (!ack) return;
  if (body.command) {
    await ack({ response_type: "ephemeral", text });
    return;
  }
  if (body.type === "block_suggestion") {
    // A type-ahead is answered with its options; none says enough, and a refusal per keystroke
    // must not become a message per keystroke.
    await ack({ options: [] });
    return;
  }
  if (body.type === "view_submission") {
    const field = Object.keys(body.view?.state?.values ?? {})[0];
    await ack(field ? { response_action: "errors", errors: { [field]: text } } : undefined);
    return;
  }
  await ack();
  try {
    if (body.response_url && "respond" in args && typeof args.respond === "function") {
      await args.respond({ response_type: "ephemeral", replace_original: false, text });
      return;
    }
    const userId = actingUserId(body);
    if (userId && options.directMessage !== false) {
      await args.client.chat.postMessage({ channel: userId, text });
    }
  } catch (err) {
    args.logger.warn({ err }, "could not tell a refused person why");
  }
}
