import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import type { BotDeps } from "../../deps.js";
import { homeView, refusedHomeView } from "../../views/home.js";
import { cannotSeeRequests } from "../../views/replies.js";

/** Publishes a user's App Home tab from the current state in Redis. */
export async function refreshHome(deps: BotDeps, client: WebClient, userId: string): Promise<void> {
  const may = await deps.policy.mayRead(userId);
  if (!may.allowed) {
    await client.views.publish({
      user_id: userId,
      view: refusedHomeView(cannotSeeRequests(may.why)),
    });
    return;
  }
  const isApprover = await deps.policy.isApprover(userId);
  const waiting = isApprover
    ? await deps.policy.waitingFor(userId, await deps.store.openRequests(100))
    : [];
  const own = await deps.store.requestsOf(userId, 10);
  await client.views.publish({ user_id: userId, view: homeView({ isApprover, waiting, own }) });
}

export function appHomeOpened(deps: BotDeps) {
  return async ({
    event,
    client,
  }: SlackEventMiddlewareArgs<"app_home_opened"> & AllMiddlewareArgs) => {
    if (event.tab !== "home") return;
    try {
      await refreshHome(deps, client, event.user);
    } catch (err) {
      deps.logger.error({ err, user: event.user }, "could not publish the App Home tab");
    }
  };
}
