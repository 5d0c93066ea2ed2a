import type { Queue } from "bullmq";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BudgetStats } from "./auth0/shared-budget.js";

export interface AuditRelayState {
  held: boolean;
  lagEntries: number;
  lagSeconds: number;
}

export interface Auth0Counters {
  /** Management API answers by status ("200", "429", "network"…), since start. */
  apiCalls: Record<string, number>;
  tokenFetches: number;
}

/** One Auth0 tenant as this process sees it. */
export interface TenantCounters {
  tenant: string;
  auth0: Auth0Counters;
  budget: BudgetStats;
}

/**
 * What /metrics shows: the standard process metrics, requests by outcome, time to decision, job
 * durations, Auth0 calls by status (429s visible), token fetches, and each queue's depth by state.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly events: Counter<"event">;
  readonly decisionSeconds: Histogram<"decision">;
  readonly jobSeconds: Histogram<"queue" | "outcome">;
  private readonly queues: Queue[] = [];

  constructor(tenants: readonly TenantCounters[] = []) {
    // Unprefixed (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, …), as every Node.js
    // exporter names them, so the usual dashboards and alerts work unchanged. Ours carry the prefix.
    collectDefaultMetrics({ register: this.registry });
    this.events = new Counter({
      name: "promote_connection_request_events_total",
      help: "Request events by kind: requested, approved, denied, promoted, demoted, failed, expired, cancelled, refused…",
      labelNames: ["event"],
      registers: [this.registry],
    });
    this.decisionSeconds = new Histogram({
      name: "promote_connection_time_to_decision_seconds",
      help: "Time from a request to its approval or denial",
      labelNames: ["decision"],
      buckets: [10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
      registers: [this.registry],
    });
    this.jobSeconds = new Histogram({
      name: "promote_connection_job_duration_seconds",
      help: "How long jobs ran, by queue and outcome",
      labelNames: ["queue", "outcome"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    if (tenants.length > 0) this.watchTenants(tenants);
  }

  /** Auth0 calls by status, token fetches, and the shared budget, per tenant. */
  private watchTenants(tenants: readonly TenantCounters[]): void {
    const registers = [this.registry];
    const counted = (read: (t: TenantCounters) => number) =>
      function (this: Counter<"tenant">) {
        this.reset();
        for (const t of tenants) this.inc({ tenant: t.tenant }, read(t));
      };
    const gauged = (read: (t: TenantCounters) => number) =>
      function (this: Gauge<"tenant">) {
        for (const t of tenants) this.set({ tenant: t.tenant }, read(t));
      };
    new Counter({
      name: "promote_connection_auth0_requests_total",
      help: "Auth0 Management API answers by tenant and HTTP status (network: no answer)",
      labelNames: ["tenant", "status"],
      registers,
      collect() {
        this.reset();
        for (const t of tenants) {
          for (const [status, n] of Object.entries(t.auth0.apiCalls)) {
            this.inc({ tenant: t.tenant, status }, n);
          }
        }
      },
    });
    new Counter({
      name: "promote_connection_auth0_token_fetches_total",
      help: "Client-credentials tokens fetched from Auth0 by this process, per tenant",
      labelNames: ["tenant"],
      registers,
      collect: counted((t) => t.auth0.tokenFetches),
    });
    new Gauge({
      name: "promote_connection_auth0_budget_tokens",
      help: "Management API calls the shared budget believed left in Auth0's bucket",
      labelNames: ["tenant"],
      registers,
      collect: gauged((t) => t.budget.tokens),
    });
    new Gauge({
      name: "promote_connection_auth0_budget_rate_per_second",
      help: "The refill rate of Auth0's bucket, as learnt from its rate-limit headers",
      labelNames: ["tenant"],
      registers,
      collect: gauged((t) => t.budget.perSecond),
    });
    new Counter({
      name: "promote_connection_auth0_budget_pauses_total",
      help: "429s from Auth0 that paused every process until the bucket's reset",
      labelNames: ["tenant"],
      registers,
      collect: counted((t) => t.budget.pauses),
    });
    new Counter({
      name: "promote_connection_auth0_budget_wait_seconds_total",
      help: "Time this process's Management API calls spent waiting for the budget",
      labelNames: ["tenant"],
      registers,
      collect: counted((t) => t.budget.waitedMs / 1000),
    });
  }

  /**
   * The audit relay as every process sees it in Redis: whether it is held by a permanent Slack
   * error, and how far the audit channel is behind the trail.
   */
  watchAuditRelay(read: () => Promise<AuditRelayState>): void {
    let latest: Promise<AuditRelayState> | undefined;
    // One read of Redis serves the three gauges of a scrape.
    const state = () => {
      latest ??= read()
        .catch(() => ({ held: false, lagEntries: 0, lagSeconds: 0 }))
        .finally(() => setTimeout(() => (latest = undefined), 0).unref());
      return latest;
    };
    new Gauge({
      name: "promote_connection_audit_relay_blocked",
      help: "1 while a permanent Slack error (not_in_channel, token_revoked…) holds the audit relay",
      registers: [this.registry],
      async collect() {
        this.set((await state()).held ? 1 : 0);
      },
    });
    new Gauge({
      name: "promote_connection_audit_relay_lag_seconds",
      help: "Age of the oldest audit event not yet in the audit channel (0 when none waits)",
      registers: [this.registry],
      async collect() {
        this.set((await state()).lagSeconds);
      },
    });
    new Gauge({
      name: "promote_connection_audit_relay_lag_events",
      help: "Audit events not yet in the audit channel (counted up to 1000)",
      registers: [this.registry],
      async collect() {
        this.set((await state()).lagEntries);
      },
    });
  }

  /** Queues whose depth by state (BullMQ's own exporter) is part of every scrape. */
  watchQueues(...queues: Queue[]): void {
    this.queues.push(...queues);
  }

  async text(): Promise<string> {
    const parts = [await this.registry.metrics()];
    for (const queue of this.queues) {
      parts.push(
        await queue.exportPrometheusMetrics({ service: "promote-connection" }).catch(() => ""),
      );
    }
    return parts.filter(Boolean).join("\n");
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
