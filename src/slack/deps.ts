import type { Queue } from "bullmq";
import type { ConnectionList } from "../auth0/connection-list.js";
import type { Config } from "../config.js";
import type { ExpiryJobData } from "../jobs/expiry.js";
import type { Outbox } from "../jobs/outbox.js";
import type { ChangeJobData } from "../jobs/queues.js";
import type { ReminderJobData } from "../jobs/reminder.js";
import type { Logger } from "../log.js";
import type { AuditLog } from "../requests/audit-log.js";
import type { RequestPolicy } from "../requests/policy.js";
import type { RequestStore } from "../requests/store.js";
import type { Tenants } from "../requests/tenants.js";
import type { UserRateLimit } from "../requests/user-rate-limit.js";

/** What the Slack listeners need; built once in runtime, from real parts in tests too. */
export interface BotDeps {
  config: Config;
  store: RequestStore;
  policy: RequestPolicy;
  /** The Auth0 tenants, each with its settings and a client for lookups made for people. */
  tenants: Tenants;
  changeQueue: Queue<ChangeJobData>;
  expiryQueue: Queue<ExpiryJobData>;
  reminderQueue: Queue<ReminderJobData>;
  outbox: Outbox;
  auditLog: AuditLog;
  /** Each tenant's connections, shared by the fleet for a minute: the request form's type-ahead. */
  connectionLists: ReadonlyMap<string, ConnectionList>;
  /** USER_RATE_LIMIT, counted in Redis. */
  userLimit: UserRateLimit;
  logger: Logger;
  /** The bot was invited back into the audit channel: held audit lines can go now. */
  auditChannelJoined?: () => void;
  now?: () => number;
}
