import { WebClient } from "@slack/web-api";
import { Queue } from "bullmq";
import type { Config } from "../config.js";
import { closeServer, serverAddress, serverPort, startHttpServers } from "../http/health-server.js";
import type { HttpLimits } from "../http/limits.js";
import { sharedCheck } from "../http/readiness.js";
import type { ExpiryJobData } from "../jobs/expiry.js";
import { Outbox, type OutboxMessage } from "../jobs/outbox.js";
import { type ChangeJobData, QUEUE_POLICIES } from "../jobs/queues.js";
import type { ReminderJobData } from "../jobs/reminder.js";
import type { Logger } from "../log.js";
import { Metrics } from "../metrics.js";
import { createRedisClient, describeRedis, type RedisClient, untilReady } from "../redis.js";
import { AuditLog } from "../requests/audit-log.js";
import { People, RequestPolicy } from "../requests/policy.js";
import { RequestStore } from "../requests/store.js";
import { UserRateLimit } from "../requests/user-rate-limit.js";
import type { SlackBot } from "../slack/app.js";
import { AuditRelay } from "../slack/audit-relay.js";
import { slackLogger, webClientOptions } from "../slack/web-client.js";
import { Shutdown } from "./shutdown.js";
import { botTenants, connectionLists, createTenantClients } from "./tenants.js";
import { Workers } from "./workers.js";

export type Role = "bot" | "worker" | "all";

export interface Running {
  /** The port the HTTP server listens on (health routes, and Slack in HTTP mode). */
  port: number;
  /** METRICS_PORT's server's port (/metrics, /readyz), when it is set. */
  metricsPort?: number;
  /** Stops taking work, lets in-flight jobs finish (bounded), closes connections. */
  stop(): Promise<void>;
}

export interface StartOptions {
  role: Role;
  logger: Logger;
  /** Listen address; 0.0.0.0 in containers, 127.0.0.1 in tests. */
  host?: string;
  /** The HTTP server's body cap and timeouts: HTTP_LIMITS unless a test shortens them. */
  httpLimits?: Partial<HttpLimits>;
  /** The wait between tries while Auth0 is down: the change policy's unless a test shortens it. */
  retryBackoff?: { delay: number; maxDelay: number };
}

/** Builds and starts the parts a role needs. Everything a request needs later is in Redis. */
export async function start(config: Config, options: StartOptions): Promise<Running> {
  const { role, logger } = options;
  const runsBot = role === "bot" || role === "all";
  const runsWorker = role === "worker" || role === "all";
  const prefix = config.redis.prefix;
  const shutdown = new Shutdown(logger);
  let redis: RedisClient | undefined;
  const stop = async () => {
    await shutdown.run();
    redis?.disconnect();
  };

  try {
    const client = createRedisClient(config.redis, `promote-connection:${role}`);
    redis = client;
    shutdown.add("redis", () => client.quit());
    redis.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));
    // A certificate not trusted or a password refused stops the start here, in words.
    await untilReady(client, config.redis);
    const store = new RequestStore(redis, prefix, { retentionMs: config.requestRetentionMs });
    const migrated = await store.migrateLegacyRequests();
    if (migrated > 0) logger.info({ migrated }, "open requests brought into today's shape");

    const queue = <T>(name: string) => new Queue<T>(name, { connection: client, prefix });
    const queues = {
      change: queue<ChangeJobData>(QUEUE_POLICIES.change.name),
      expiry: queue<ExpiryJobData>(QUEUE_POLICIES.expiry.name),
      reminder: queue<ReminderJobData>(QUEUE_POLICIES.reminder.name),
      outbox: queue<OutboxMessage>(QUEUE_POLICIES.outbox.name),
      audit: queue<OutboxMessage>(QUEUE_POLICIES.audit.name),
    };
    const allQueues = Object.values(queues) as Queue[];
    for (const q of allQueues) {
      q.on("error", (err) => logger.warn({ err: err.message, queue: q.name }, "queue error"));
    }
    // Closed together, in one bounded step.
    shutdown.add("queues", () => Promise.all(allQueues.map((q) => q.close())));
    const auditLog = new AuditLog(redis, prefix, config.auditRetention);
    // Before any request can be handled here, so no event of ours comes before the cursor.
    await auditLog.initCursor();
    const outbox = new Outbox(queues.outbox);

    const tenantClients = createTenantClients(config, client, logger, shutdown);
    const metrics = new Metrics([...tenantClients.values()].map((t) => t.counters));
    metrics.watchQueues(...allQueues);
    metrics.watchAuditRelay(async () => {
      const [held, lag] = await Promise.all([auditLog.holdStatus(), auditLog.lag()]);
      return { held: held !== undefined, lagEntries: lag.entries, lagSeconds: lag.seconds };
    });

    // Who may ask and decide: the bot asks at every click, the worker once more before a change.
    const slackClient = new WebClient(config.slack.botToken, webClientOptions(config, logger));
    const groupMembers = async (usergroup: string) => {
      const result = await slackClient.usergroups.users.list({ usergroup });
      return result.users ?? [];
    };
    const policy = new RequestPolicy(
      new Map(
        config.tenants.map((t) => [t.name, new People({ ...t.approvers, groupMembers })] as const),
      ),
      new People({ ...config.requesters, groupMembers }),
    );

    const workers = new Workers({ config, role, store, outbox, logger, metrics, shutdown });
    // Slack writes from the outbox: no client-side 429 waiting, the outbox holds its queue instead.
    const outboxClient = new WebClient(config.slack.botToken, {
      ...webClientOptions(config, logger),
      logger: slackLogger(logger, "slack-outbox"),
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
    });
    await workers.startSlackDelivery(outboxClient, queues, policy);
    const relay = new AuditRelay({
      redis: client,
      auditLog,
      store,
      client: outboxClient,
      outbox,
      auditChannelId: config.slack.auditChannelId,
      prefix,
      logger,
      hold: QUEUE_POLICIES.audit.holdBackoff,
      onRelayed: (record, request) => {
        metrics.events.inc({ event: record.event });
        if ((record.event === "approved" || record.event === "denied") && request) {
          metrics.decisionSeconds.observe(
            { decision: record.event },
            (record.at - request.createdAt) / 1000,
          );
        }
      },
    });
    relay.start();
    shutdown.add("audit relay", () => relay.stop());

    let httpListener: SlackBot["httpListener"];
    let slackReady = async () => true;
    if (runsBot) {
      // Loaded only where the bot runs: a worker has no use for Bolt (and its memory).
      const { createSlackBot } = await import("../slack/app.js");
      const bot = createSlackBot({
        config,
        store,
        policy,
        // Lookups made for people wait behind approved changes, and are told when Auth0 is busy.
        tenants: botTenants(tenantClients),
        connectionLists: connectionLists(tenantClients),
        changeQueue: queues.change,
        expiryQueue: queues.expiry,
        reminderQueue: queues.reminder,
        outbox,
        auditLog,
        userLimit: new UserRateLimit(client, prefix, config.policy.userRateLimit),
        logger,
        auditChannelJoined: () => relay.wake(),
      });
      httpListener = bot.httpListener;
      await bot.start();
      shutdown.add("slack bot", () => bot.stop());
      // Probes may come every few seconds, several at once; auth.test is rate-limited, so they
      // share one call in flight, and a good answer is kept for 30 s.
      const askSlack = sharedCheck(
        async () => (await bot.app.client.auth.test()).ok === true,
        30_000,
      );
      slackReady = async () => bot.connected() && (await askSlack());
    }

    if (runsWorker) {
      workers.startChangeWorkers(queues, {
        auth0For: (tenant) => tenantClients.get(tenant)?.auth0,
        approvalsStillHold: (request) => policy.approvalsStillHold(request),
        dryRun: (tenant) => tenantClients.get(tenant)?.settings.dryRun ?? false,
        retry: {
          windowMs: config.auth0.retryWindowMs,
          spacing: options.retryBackoff ?? QUEUE_POLICIES.change.retryBackoff,
        },
      });
    }

    // Without Redis no job can finish anyway, so then there is nothing to wait for.
    shutdown.add(
      "workers",
      () => workers.close(),
      () => (client.status === "ready" ? 20_000 : 2_000),
    );

    const servers = await startHttpServers({
      port: config.port,
      host: options.host,
      metricsListen: config.metricsListen,
      metrics,
      slackListener: httpListener,
      limits: options.httpLimits,
      readinessChecks: {
        redis: async () => (await client.ping()) === "PONG",
        ...(runsBot ? { slack: slackReady } : {}),
      },
    });
    const { main, metrics: metricsServer } = servers;
    shutdown.add("http server", () => closeServer(main));
    if (metricsServer) shutdown.add("metrics server", () => closeServer(metricsServer));
    logger.info(
      {
        role,
        port: serverPort(main),
        ...(metricsServer ? { metrics: serverAddress(metricsServer) } : {}),
        mode: config.slack.appToken ? "socket" : "http",
        redis: Object.values(describeRedis(config.redis)).join(", "),
      },
      "promote-connection started",
    );
    return {
      port: serverPort(main),
      ...(metricsServer ? { metricsPort: serverPort(metricsServer) } : {}),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
