import type { Job, Queue } from "bullmq";
import { type Logger, withRequestId } from "../log.js";
import type { RequestStore } from "../requests/store.js";
import type { Outbox } from "./outbox.js";
import { jobOptions, QUEUE_POLICIES } from "./queues.js";

export interface ReminderJobData {
  requestId: string;
}

/**
 * Schedules a pending request's reminder: a delayed job that fires at `remindAt`. Its id is the
 * request's, so the bot and the reconciler scheduling it again make no second job.
 */
export async function scheduleReminder(
  queue: Queue<ReminderJobData>,
  requestId: string,
  remindAt: number,
  now = Date.now(),
): Promise<void> {
  const delay = Math.max(0, remindAt - now);
  await queue.add("remind", { requestId }, jobOptions(QUEUE_POLICIES.reminder, requestId, delay));
}

export interface ReminderDeps {
  store: RequestStore;
  outbox: Outbox;
  logger: Logger;
  now?: () => number;
}

/**
 * Halfway through its life (REMIND_AFTER), a request nobody has settled reminds its approvers:
 * the reminder goes through the outbox, so a Slack outage delays it rather than losing it. One
 * decided, withdrawn, expired or already reminded in the meantime is left alone.
 */
export function reminderProcessor(deps: ReminderDeps) {
  return (job: Job<ReminderJobData>): Promise<string> =>
    withRequestId(job.data.requestId, () => remind(deps, job.data.requestId));
}

async function remind(deps: ReminderDeps, requestId: string): Promise<string> {
  const request = await deps.store.get(requestId);
  if (!request) return "missing";
  if (request.state !== "PENDING") return request.state;
  if ((deps.now ?? Date.now)() >= request.expiresAt) return "EXPIRED";
  if (request.remindedAt !== undefined) return "reminded";
  await deps.outbox.remind(request);
  deps.logger.info("approvers to be reminded");
  return "queued";
}
