import { randomBytes } from "node:crypto";
import type { WebClient } from "@slack/web-api";
import type { Outbox } from "../jobs/outbox.js";
import type { Logger } from "../log.js";
import { duplicateRedis, type RedisClient } from "../redis.js";
import type { AuditEntryRead, AuditLog, AuditRecord } from "../requests/audit-log.js";
import type { ChangeRequest } from "../requests/model.js";
import type { RequestStore } from "../requests/store.js";
import { slackRetryDelayMs } from "./delivery.js";
import { auditLine } from "./views/audit-line.js";

/**
 * Relays the audit trail (the Redis stream) to the audit channel, one line at a time, in stream
 * order, from a cursor kept in Redis. One process relays at a time (a lease in Redis); any other
 * takes over within a lease if it dies. A passing Slack failure (429, 5xx, network) waits and
 * tries the same line again. A permanent one (the bot removed from the channel, a revoked token)
 * holds the relay: no line is skipped, the hold is recorded for /metrics and the doctor, logged
 * once a minute, and the same line is tried again every little while, so that once the bot is
 * back every held line arrives, in order.
 */

export interface AuditRelayDeps {
  redis: RedisClient;
  auditLog: AuditLog;
  store: RequestStore;
  /** A client that does not wait out 429s itself: the relay decides. */
  client: WebClient;
  /** To redraw the approval message once its audit thread has a link. */
  outbox: Outbox;
  auditChannelId: string;
  prefix: string;
  logger: Logger;
  /** How long a passing failure holds the relay: doubling from delay up to maxDelay. */
  hold: { delay: number; maxDelay: number };
  /** Called once a line is in the channel (metrics count events there). */
  onRelayed?: (record: AuditRecord, request: ChangeRequest | undefined) => void;
  /** How long the lease lasts without renewal (default 10 s). */
  leaseMs?: number;
  /** How often a held relay tries its line again (default 5 s). */
  heldRetryMs?: number;
}

/** Answers that will not change by trying again: the relay holds until someone acts. */
const CONTENT_ERRORS = new Set(["invalid_blocks", "msg_too_long", "invalid_arguments"]);

function slackError(err: unknown): string {
  const e = err as { data?: { error?: string }; code?: string; message?: string };
  return e.data?.error ?? e.code ?? e.message ?? String(err);
}

export class AuditRelay {
  private readonly holder = randomBytes(8).toString("hex");
  private readonly leaseKey: string;
  private readonly leaseMs: number;
  private readonly heldRetryMs: number;
  private blocking: RedisClient | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  /** Consecutive passing failures of the current line. */
  private failures = 0;
  private held: { reason: string; loggedAt: number } | undefined;

  constructor(private readonly deps: AuditRelayDeps) {
    this.leaseKey = `${deps.prefix}:audit-relay:lease`;
    this.leaseMs = deps.leaseMs ?? 10_000;
    this.heldRetryMs = deps.heldRetryMs ?? 5_000;
  }

  start(): void {
    this.blocking = duplicateRedis(this.deps.redis, "promote-connection:audit-relay");
    this.blocking.on("error", () => {});
    this.running = this.run();
  }

  /** Tries a held line again now (the bot was just invited back into the channel). */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    this.blocking?.disconnect();
    await this.running;
    await this.deps.redis
      .eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        this.leaseKey,
        this.holder,
      )
      .catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!(await this.lead())) {
          await this.pause(this.leaseMs / 4);
          continue;
        }
        const cursor = await this.deps.auditLog.cursor();
        const entries = await this.deps.auditLog.after(cursor, 20);
        if (entries.length === 0) {
          await this.deps.auditLog.trim();
          await this.waitForEntries(cursor);
          continue;
        }
        for (const entry of entries) {
          if (this.stopped || !(await this.relay(entry))) break;
        }
      } catch (err) {
        if (this.stopped) return;
        this.deps.logger.warn({ err }, "audit relay: Redis error; trying again shortly");
        await this.pause(1_000);
      }
    }
  }

  /** Takes or renews the lease; true while this process relays. */
  private async lead(): Promise<boolean> {
    const held = await this.deps.redis.eval(
      `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
       if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
       return 0`,
      1,
      this.leaseKey,
      this.holder,
      String(this.leaseMs),
    );
    return Number(held) === 1;
  }

  /** Waits for an entry after `cursor`, bounded so the lease is renewed in time. */
  private async waitForEntries(cursor: string): Promise<void> {
    const wait = Math.max(100, Math.floor(this.leaseMs / 4));
    await this.blocking?.xread(
      "COUNT",
      1,
      "BLOCK",
      wait,
      "STREAMS",
      this.deps.auditLog.key,
      cursor,
    );
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  /** Posts one line; true when it is in the channel and the cursor has moved past it. */
  private async relay(entry: AuditEntryRead): Promise<boolean> {
    const { deps } = this;
    const request = await deps.store.get(entry.record.requestId);
    const thread = request?.auditThreadTs;
    let posted: { ts?: string };
    try {
      posted = await this.post(entry.record, thread);
    } catch (err) {
      await this.failed(err, entry);
      return false;
    }
    this.failures = 0;
    if (this.held) {
      deps.logger.info({ entry: entry.id }, "audit relay resumed: the held lines follow in order");
      this.held = undefined;
      await deps.auditLog.clearHold();
    }
    if (request && !thread && posted.ts) {
      await deps.store.annotate(request.id, { auditThreadTs: posted.ts });
    }
    if (!(await deps.auditLog.advance(entry.id, { key: this.leaseKey, holder: this.holder }))) {
      return false;
    }
    deps.onRelayed?.(entry.record, request);
    if (request && !thread && posted.ts) await this.linkThread(request, posted.ts);
    return true;
  }

  /**
   * A request's first line opens a thread; later lines go in it and to the channel, so the
   * channel reads as a trail and the approval message can link to one request's story.
   */
  private async post(record: AuditRecord, thread: string | undefined): Promise<{ ts?: string }> {
    const line = {
      channel: this.deps.auditChannelId,
      ...auditLine(record),
      unfurl_links: false,
      unfurl_media: false,
    };
    const threaded = thread ? { ...line, thread_ts: thread, reply_broadcast: true } : line;
    try {
      return await this.deps.client.chat.postMessage(threaded);
    } catch (err) {
      // A line Slack refuses for its content is posted as text alone rather than held for ever.
      if (!CONTENT_ERRORS.has(slackError(err))) throw err;
      const { blocks: _blocks, ...text } = threaded;
      return this.deps.client.chat.postMessage({ ...text, text: text.text.slice(0, 3_000) });
    }
  }

  private async linkThread(request: ChangeRequest, ts: string): Promise<void> {
    const link = await this.deps.client.chat
      .getPermalink({ channel: this.deps.auditChannelId, message_ts: ts })
      .catch(() => undefined);
    if (link?.permalink) {
      await this.deps.store.annotate(request.id, { auditPermalink: link.permalink });
      await this.deps.outbox.updateApproval(request, "audit-link");
    }
  }

  private async failed(err: unknown, entry: AuditEntryRead): Promise<void> {
    this.failures++;
    const delay = slackRetryDelayMs(err, this.failures, this.deps.hold);
    if (delay !== undefined) {
      this.deps.logger.warn({ err, retryInMs: delay }, "audit line not posted; trying it again");
      await this.pause(delay);
      return;
    }
    const reason = slackError(err);
    const now = Date.now();
    if (!this.held || this.held.reason !== reason || now - this.held.loggedAt >= 60_000) {
      const lag = await this.deps.auditLog.lag(now);
      this.deps.logger.error(
        { reason, entry: entry.id, waiting: lag.entries, lagSeconds: Math.round(lag.seconds) },
        `audit relay held: Slack answers ${reason} for the audit channel; no line is skipped, they wait`,
      );
      this.held = { reason, loggedAt: now };
    }
    await this.deps.auditLog.hold(reason, entry.id, now);
    await this.pause(this.heldRetryMs);
  }
}
