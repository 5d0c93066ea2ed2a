import type { Queue } from "bullmq";
import type { ManagementClient } from "../auth0/management.js";
import type { Config } from "../config.js";
import type { ExpiryJobData } from "../jobs/expiry.js";
import type { Outbox } from "../jobs/outbox.js";
import type { PromoteJobData } from "../jobs/queues.js";
import type { Logger } from "../log.js";
import type { AuditLog } from "../requests/audit-log.js";
import type { RequestPolicy } from "../requests/policy.js";
import type { RequestStore } from "../requests/store.js";

/** What the Slack listeners need; built once in runtime.ts, from real parts in tests too. */
export interface BotDeps {
  config: Config;
  store: RequestStore;
  policy: RequestPolicy;
  auth0: Pick<ManagementClient, "getConnection" | "findConnectionByName" | "getTenantSettings">;
  promoteQueue: Queue<PromoteJobData>;
  expiryQueue: Queue<ExpiryJobData>;
  outbox: Outbox;
  auditLog: AuditLog;
  logger: Logger;
  now?: () => number;
}
