import type { WebClient } from "@slack/web-api";
import { type Processor, type Queue, Worker } from "bullmq";
import type { Config } from "../config.js";
import { type ApplyChangeDeps, applyChangeProcessor } from "../jobs/apply-change.js";
import { type ExpiryJobData, expiryProcessor } from "../jobs/expiry.js";
import type { Outbox, OutboxMessage } from "../jobs/outbox.js";
import {
  type ChangeJobData,
  QUEUE_POLICIES,
  type QueuePolicy,
  workerOptions,
} from "../jobs/queues.js";
import { reconcileApproved, reconcilePending } from "../jobs/reconcile.js";
import { type ReminderJobData, reminderProcessor } from "../jobs/reminder.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { createRedisClient } from "../redis.js";
import type { RequestPolicy } from "../requests/policy.js";
import type { RequestStore } from "../requests/store.js";
import { slackDeliveryProcessor } from "../slack/delivery.js";
import type { Shutdown } from "./shutdown.js";

export interface WorkerParts {
  config: Config;
  role: string;
  store: RequestStore;
  outbox: Outbox;
  logger: Logger;
  metrics: Metrics;
  shutdown: Shutdown;
}

/** Starts workers, each with its queue's policy, logged errors and durations in /metrics. */
export class Workers {
  private readonly all: Worker[] = [];

  constructor(private readonly parts: WorkerParts) {}

  start<T>(policy: QueuePolicy, processor: Processor<T>): Worker<T> {
    const { config, role, metrics, logger } = this.parts;
    const worker = new Worker<T>(policy.name, processor, {
      // A template: the worker makes its own connections from it, and closes them.
      connection: createRedisClient(config.redis, `promote-connection:${role}:${policy.name}`, {
        purpose: "worker",
      }),
      prefix: config.redis.prefix,
      ...workerOptions(policy),
    });
    const observe =
      (outcome: string) => (job: { processedOn?: number; finishedOn?: number } | undefined) => {
        if (job?.processedOn && job.finishedOn) {
          metrics.jobSeconds.observe(
            { queue: worker.name, outcome },
            (job.finishedOn - job.processedOn) / 1000,
          );
        }
      };
    worker.on("completed", observe("completed"));
    worker.on("failed", observe("failed"));
    worker.on("error", (err) => logger.warn({ err: err.message }, `${worker.name} worker error`));
    this.all.push(worker as Worker);
    return worker;
  }

  /** Workers stop taking jobs and finish the ones they hold (an in-flight Auth0 call). */
  close(): Promise<unknown> {
    return Promise.all(this.all.map((w) => w.close()));
  }

  /**
   * The Slack outbox and the audit lines: one job at a time across every process, so lines stay
   * in order. Every process delivers, so messages flow whichever roles run.
   */
  async startSlackDelivery(
    client: WebClient,
    queues: { outbox: Queue<OutboxMessage>; audit: Queue<OutboxMessage> },
    requestPolicy: RequestPolicy,
  ): Promise<void> {
    const { store, outbox, config, logger } = this.parts;
    const pairs = [
      [QUEUE_POLICIES.outbox, queues.outbox],
      [QUEUE_POLICIES.audit, queues.audit],
    ] as const;
    for (const [policy, queue] of pairs) {
      await queue.setGlobalConcurrency(policy.globalConcurrency);
      this.start<OutboxMessage>(
        policy,
        slackDeliveryProcessor({
          client,
          store,
          queue,
          hold: policy.holdBackoff,
          outbox,
          auditChannelId: config.slack.auditChannelId,
          policy: requestPolicy,
          logger,
        }),
      );
    }
  }

  /** What a worker process runs: approved changes, expiry, reminders, and the reconciler. */
  startChangeWorkers(
    queues: {
      change: Queue<ChangeJobData>;
      expiry: Queue<ExpiryJobData>;
      reminder: Queue<ReminderJobData>;
    },
    tenants: Pick<ApplyChangeDeps, "auth0For" | "approvalsStillHold" | "dryRun" | "retry">,
  ): void {
    const { store, outbox, logger, shutdown } = this.parts;
    this.start<ChangeJobData>(
      QUEUE_POLICIES.change,
      applyChangeProcessor({ store, outbox, queue: queues.change, logger, ...tenants }),
    );
    this.start<ExpiryJobData>(QUEUE_POLICIES.expiry, expiryProcessor({ store, outbox, logger }));
    this.start<ReminderJobData>(
      QUEUE_POLICIES.reminder,
      reminderProcessor({ store, outbox, logger }),
    );
    const reconcileDeps = {
      store,
      queue: queues.change,
      expiryQueue: queues.expiry,
      reminderQueue: queues.reminder,
      outbox,
      logger,
    };
    let forgotAt = 0;
    const reconcile = async () => {
      try {
        await reconcileApproved(reconcileDeps);
        await reconcilePending(reconcileDeps);
        // Settled requests past REQUEST_RETENTION leave the indexes; hourly is plenty.
        if (Date.now() - forgotAt > 3_600_000) {
          forgotAt = Date.now();
          const forgotten = await store.forgetSettled();
          if (forgotten > 0)
            logger.info({ forgotten }, "settled requests past their retention forgotten");
        }
      } catch (err) {
        logger.warn({ err }, "reconciling requests with their jobs failed");
      }
    };
    void reconcile();
    const timer = setInterval(reconcile, 30_000);
    timer.unref();
    shutdown.add("reconciler", async () => clearInterval(timer));
  }
}
