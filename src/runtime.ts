import type { Server } from "node:http";
import { WebClient } from "@slack/web-api";
import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { collectDefaultMetrics, Registry } from "prom-client";
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
import { reconcileApproved } from "./jobs/reconcile.js";
import type { Logger } from "./log.js";
import { AuditLog } from "./requests/audit-log.js";
import { People, RequestPolicy } from "./requests/policy.js";
import { RequestStore } from "./requests/store.js";
import { createSlackBot, slackLogger, webClientOptions } from "./slack/app.js";

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
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      await close().catch((err: unknown) => logger.warn({ err }, "error while shutting down"));
    }
  };

  try {
    const redis: Redis = createRedis(config.redis.url, `promote-connection:${role}`);
    closers.push(() => redis.quit());
    redis.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));
    const store = new RequestStore(redis, prefix);

    const promoteQueue = new Queue<PromoteJobData>(PROMOTE_QUEUE, { connection: redis, prefix });
    const expiryQueue = new Queue<ExpiryJobData>(EXPIRY_QUEUE, { connection: redis, prefix });
    const outboxQueue = new Queue<OutboxMessage>(OUTBOX_QUEUE, { connection: redis, prefix });
    const auditQueue = new Queue<OutboxMessage>(AUDIT_QUEUE, { connection: redis, prefix });
    closers.push(
      () => promoteQueue.close(),
      () => expiryQueue.close(),
      () => outboxQueue.close(),
      () => auditQueue.close(),
    );
    const auditLog = new AuditLog(redis, prefix, config.auditRetention);
    const outbox = new Outbox({ slack: outboxQueue, audit: auditQueue }, auditLog);

    const transport = createTransport({ timeoutMs: config.auth0.timeoutMs });
    closers.push(() => transport.close());
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

    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics });

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
      worker.on("error", (err) => logger.warn({ err: err.message }, `${queue.name} worker error`));
      closers.push(() => worker.close());
    }

    let httpListener: ReturnType<typeof createSlackBot>["httpListener"];
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
      closers.push(() => bot.stop());
      slackReady = async () => (await bot.app.client.auth.test()).ok === true;
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
      worker.on("error", (err) => logger.warn({ err: err.message }, "promote worker error"));
      closers.push(() => worker.close());
      const expiryWorker = new Worker<ExpiryJobData>(
        EXPIRY_QUEUE,
        expiryProcessor({ store, outbox, logger }),
        {
          connection: workerConnection(config.redis.url, `promote-connection:${role}:expiry`),
          prefix,
          concurrency: 4,
        },
      );
      expiryWorker.on("error", (err) => logger.warn({ err: err.message }, "expiry worker error"));
      closers.push(() => expiryWorker.close());
      const reconcile = () =>
        reconcileApproved({ store, queue: promoteQueue, outbox, logger }).catch((err: unknown) =>
          logger.warn({ err }, "reconciling approved requests failed"),
        );
      void reconcile();
      const timer = setInterval(reconcile, 30_000);
      timer.unref();
      closers.push(async () => clearInterval(timer));
    }

    const server: Server = await startHealthServer({
      port: config.port,
      host: options.host,
      metrics,
      slackListener: httpListener,
      readinessChecks: {
        redis: async () => (await redis.ping()) === "PONG",
        ...(runsBot ? { slack: slackReady } : {}),
      },
    });
    closers.push(() => closeServer(server));
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
