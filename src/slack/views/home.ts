import type { HomeView, KnownBlock } from "@slack/types";
import type { ChangeRequest } from "../../requests/model.js";
import { decisionButtons } from "./approval-message.js";
import { COMMAND, requestSummary } from "./replies.js";
import { mrkdwn, plain } from "./text.js";

/** Home views hold at most 100 blocks; each request takes up to two. */
const MAX_WAITING = 20;
const MAX_OWN = 10;

export interface HomeContent {
  isApprover: boolean;
  /** Pending requests this approver may still act on. */
  waiting: ChangeRequest[];
  /** The viewer's own recent requests, newest first. */
  own: ChangeRequest[];
}

/** The App Home tab of someone who may not see requests: why, and nothing else. */
export function refusedHomeView(why: string): HomeView {
  return {
    type: "home",
    blocks: [
      { type: "header", text: plain("Connection requests") },
      { type: "section", text: mrkdwn(why) },
    ],
  };
}

/** The App Home tab: what waits for an approver (with the same buttons), and one's own requests. */
export function homeView(content: HomeContent): HomeView {
  const blocks: KnownBlock[] = [{ type: "header", text: plain("Connection requests") }];
  if (content.isApprover) {
    blocks.push({ type: "section", text: mrkdwn(`*Waiting for you* (${content.waiting.length})`) });
    if (content.waiting.length === 0) {
      blocks.push({ type: "context", elements: [mrkdwn("Nothing waits for your decision.")] });
    }
    for (const request of content.waiting.slice(0, MAX_WAITING)) {
      blocks.push(
        { type: "section", text: mrkdwn(requestSummary(request)) },
        decisionButtons(request),
      );
    }
    blocks.push({ type: "divider" });
  }
  blocks.push({ type: "section", text: mrkdwn("*Your recent requests*") });
  if (content.own.length === 0) {
    blocks.push({
      type: "context",
      elements: [mrkdwn(`None yet. Type \`${COMMAND} help\` in any channel to see how to ask.`)],
    });
  }
  for (const request of content.own.slice(0, MAX_OWN)) {
    blocks.push({ type: "section", text: mrkdwn(requestSummary(request)) });
  }
  return { type: "home", blocks };
}
