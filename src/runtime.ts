import type { Server } from "node:http";
import { WebClient } from "@slack/web-api";
import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { createTransport, ManagementClient, RateLimiter, TokenProvider } from "./auth0/index.js";
import type { Config } from "./config.js";
import { closeServer, serverPort, startHealthServer } from "./http/health-server.js";
import { type ExpiryJobData, expiryProcessor } from "./jobs/expiry.js";
import { Outbox, type OutboxMessage, outboxProcessor } from "./jobs/outbox.js";
import { promoteProcessor } from "./jobs/promote-processor.js";
import {
  AUDIT_QUEUE,
  createRedis,
  EXPIRY_QUEUE,
  OUTBOX_QUEUE,
  PROMOTE_POLICY,
  PROMOTE_QUEUE,
  type PromoteJobData,
  workerConnection,
} from "./jobs/queues.js";
import { reconcileApproved, reconcilePending } from "./jobs/reconcile.js";
import type { Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import { AuditLog } from "./requests/audit-log.js";
import { People, RequestPolicy } from "./requests/policy.js";
import { RequestStore } from "./requests/store.js";
import type { SlackBot } from "./slack/app.js";
import { slackLogger, webClientOptions } from "./slack/web-client.js";

export type Role = "bot" | "worker" | "all";

export interface Running {
  /** The port the HTTP server listens on (health routes, and Slack in HTTP mode). */
  port: number;
  /** Stops taking work, lets in-flight jobs finish (bounded), closes connections. */
  stop(): Promise<void>;
}

export interface StartOptions {
  role: Role;
  logger: Logger;
  /** Listen address; 0.0.0.0 in containers, 127.0.0.1 in tests. */
  host?: string;
}

/** Builds and starts the parts a role needs. Everything a request needs later is in Redis. */
export async function start(config: Config, options: StartOptions): Promise<Running> {
  const { role, logger } = options;
  const runsBot = role === "bot" || role === "all";
  const runsWorker = role === "worker" || role === "all";
  const prefix = config.redis.prefix;
  const closers: { name: string; ms: () => number; close: () => Promise<unknown> }[] = [];
  const onStop = (name: string, close: () => Promise<unknown>, ms: () => number = () => 3_000) =>
    closers.push({ name, ms, close });
  const workers: Worker[] = [];
  let redis: Redis | undefined;
  // Each step is bounded, so a Redis that is gone cannot hold shutdown: workers get long enough
  // to finish an in-flight Auth0 call; anything else gets a few seconds.
  const closeAll = async () => {
    for (const { close, name, ms } of closers.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          logger.warn({ step: name }, "shutdown step timed out; going on");
          resolve();
        }, ms());
      });
      await Promise.race([
        close().catch((err: unknown) =>
          logger.warn({ err, step: name }, "error while shutting down"),
        ),
        timeout,
      ]);
      clearTimeout(timer);
    }
    redis?.disconnect();
  };

  try {
    const client = createRedis(config.redis.url, `promote-connection:${role}`);
    redis = client;
    onStop("redis", () => client.quit());
    redis.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));
    const store = new RequestStore(redis, prefix);

    const promoteQueue = new Queue<PromoteJobData>(PROMOTE_QUEUE, { connection: redis, prefix });
    const expiryQueue = new Queue<ExpiryJobData>(EXPIRY_QUEUE, { connection: redis, prefix });
    const outboxQueue = new Queue<OutboxMessage>(OUTBOX_QUEUE, { connection: redis, prefix });
    const auditQueue = new Queue<OutboxMessage>(AUDIT_QUEUE, { connection: redis, prefix });
    const queues = [promoteQueue, expiryQueue, outboxQueue, auditQueue];
    for (const queue of queues) {
      queue.on("error", (err) =>
        logger.warn({ err: err.message, queue: queue.name }, "queue error"),
      );
    }
    // Closed together, in one bounded step.
    onStop("queues", () => Promise.all(queues.map((q) => q.close())));
    const auditLog = new AuditLog(redis, prefix, config.auditRetention);
    const outbox = new Outbox({ slack: outboxQueue, audit: auditQueue }, auditLog);

    const transport = createTransport({ timeoutMs: config.auth0.timeoutMs });
    onStop("auth0 transport", () => transport.close());
    const tokens = new TokenProvider({
      baseUrl: config.auth0.baseUrl,
      clientId: config.auth0.clientId,
      clientSecret: config.auth0.clientSecret,
      audience: config.auth0.audience,
      transport,
      logger,
      timeoutMs: config.auth0.timeoutMs,
    });
    const auth0 = new ManagementClient({
      baseUrl: config.auth0.baseUrl,
      tokens,
      transport,
      limiter: new RateLimiter({ perSecond: config.auth0.maxRequestsPerSecond }),
      logger,
    });

    const metrics = new Metrics({
      get apiCalls() {
        return auth0.apiCalls;
      },
      get tokenFetches() {
        return tokens.tokenFetches;
      },
    });
    metrics.watchQueues(...queues);
    outbox.onEvent((entry) => {
      metrics.events.inc({ event: entry.event });
      const createdAt = (entry.request as { createdAt?: number }).createdAt;
      if ((entry.event === "approved" || entry.event === "denied") && createdAt) {
        metrics.decisionSeconds.observe({ decision: entry.event }, (entry.at - createdAt) / 1000);
      }
    });

    /** Every worker: logged errors, job durations in /metrics, closed on stop (waits for jobs). */
    const track = (worker: Worker) => {
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
      workers.push(worker);
    };

    // Slack writes from the outbox: no client-side 429 waiting, the outbox holds its queue instead.
    const outboxClient = new WebClient(config.slack.botToken, {
      ...webClientOptions(config, logger),
      logger: slackLogger(logger, "slack-outbox"),
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
    });
    // Each Slack-writing queue runs one job at a time across every process: lines stay in order.
    for (const queue of [outboxQueue, auditQueue]) {
      await queue.setGlobalConcurrency(1);
      const worker = new Worker<OutboxMessage>(
        queue.name,
        outboxProcessor({
          client: outboxClient,
          store,
          queue,
          outbox,
          auditChannelId: config.slack.auditChannelId,
          logger,
        }),
        {
          connection: workerConnection(
            config.redis.url,
            `promote-connection:${role}:${queue.name}`,
          ),
          prefix,
          concurrency: 1,
          // A dead process's job holds the queue's one slot until its lock lapses: keep that short.
          lockDuration: PROMOTE_POLICY.lockDuration,
          stalledInterval: PROMOTE_POLICY.stalledInterval,
          maxStalledCount: 5,
        },
      );
      track(worker);
    }

    let httpListener: SlackBot["httpListener"];
    let slackReady = async () => true;
    if (runsBot) {
      const groupMembers = async (usergroup: string) => {
        const result = await bot.app.client.usergroups.users.list({ usergroup });
        return result.users ?? [];
      };
      const policy = new RequestPolicy(
        new People({ ...config.approvers, groupMembers }),
        new People({ ...config.requesters, groupMembers }),
      );
      // Loaded only where the bot runs: a worker has no use for Bolt (and its memory).
      const { createSlackBot } = await import("./slack/app.js");
      const bot = createSlackBot({
        config,
        store,
        policy,
        auth0,
        promoteQueue,
        expiryQueue,
        outbox,
        auditLog,
        logger,
      });
      httpListener = bot.httpListener;
      await bot.start();
      onStop("slack bot", () => bot.stop());
      // Probes may come every few seconds; auth.test is rate-limited, so a good answer is kept
      // for 30 s (a failing one is asked again next time).
      let slackOkAt = 0;
      slackReady = async () => {
        if (!bot.connected()) return false;
        if (Date.now() - slackOkAt < 30_000) return true;
        const ok = (await bot.app.client.auth.test()).ok === true;
        if (ok) slackOkAt = Date.now();
        return ok;
      };
    }

    if (runsWorker) {
      const worker = new Worker<PromoteJobData>(
        PROMOTE_QUEUE,
        promoteProcessor({ store, auth0, outbox, queue: promoteQueue, logger }),
        {
          connection: workerConnection(config.redis.url, `promote-connection:${role}:promote`),
          prefix,
          concurrency: PROMOTE_POLICY.concurrency,
          lockDuration: PROMOTE_POLICY.lockDuration,
          stalledInterval: PROMOTE_POLICY.stalledInterval,
          maxStalledCount: PROMOTE_POLICY.maxStalledCount,
        },
      );
      track(worker);
      const expiryWorker = new Worker<ExpiryJobData>(
        EXPIRY_QUEUE,
        expiryProcessor({ store, outbox, logger }),
        {
          connection: workerConnection(config.redis.url, `promote-connection:${role}:expiry`),
          prefix,
          concurrency: 4,
        },
      );
      track(expiryWorker);
      const reconcileDeps = { store, queue: promoteQueue, expiryQueue, outbox, logger };
      const reconcile = async () => {
        try {
          await reconcileApproved(reconcileDeps);
          await reconcilePending(reconcileDeps);
        } catch (err) {
          logger.warn({ err }, "reconciling requests with their jobs failed");
        }
      };
      void reconcile();
      const timer = setInterval(reconcile, 30_000);
      timer.unref();
      onStop("reconciler", async () => clearInterval(timer));
    }

    // Workers stop taking jobs and finish the ones they hold (an in-flight Auth0 call). Without
    // Redis no job can finish anyway, so then there is nothing to wait for.
    onStop(
      "workers",
      () => Promise.all(workers.map((w) => w.close())),
      () => (client.status === "ready" ? 20_000 : 2_000),
    );

    const server: Server = await startHealthServer({
      port: config.port,
      host: options.host,
      metrics,
      slackListener: httpListener,
      readinessChecks: {
        redis: async () => (await client.ping()) === "PONG",
        ...(runsBot ? { slack: slackReady } : {}),
      },
    });
    onStop("http server", () => closeServer(server));
    logger.info(
      { role, port: serverPort(server), mode: config.slack.appToken ? "socket" : "http" },
      "promote-connection started",
    );
    return { port: serverPort(server), stop: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
