import type { Queue } from "bullmq";
import type { ManagementClient } from "../auth0/management.js";
import type { Config } from "../config.js";
import type { Outbox } from "../jobs/outbox.js";
import type { PromoteJobData } from "../jobs/queues.js";
import type { Logger } from "../log.js";
import type { ApproverPolicy } from "../requests/policy.js";
import type { RequestStore } from "../requests/store.js";

/** What the Slack listeners need; built once in main.ts, replaced by real parts in tests too. */
export interface BotDeps {
  config: Config;
  store: RequestStore;
  policy: ApproverPolicy;
  auth0: Pick<ManagementClient, "getConnection" | "findConnectionByName" | "getTenantSettings">;
  promoteQueue: Queue<PromoteJobData>;
  outbox: Outbox;
  logger: Logger;
  now?: () => number;
}
