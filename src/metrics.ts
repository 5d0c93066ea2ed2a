import type { Queue } from "bullmq";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

export interface Auth0Counters {
  /** Management API answers by status ("200", "429", "network"…), since start. */
  apiCalls: Record<string, number>;
  tokenFetches: number;
}

/**
 * What /metrics shows: process metrics, requests by outcome, time to decision, job durations,
 * Auth0 calls by status (429s visible), token fetches, and each queue's depth by state.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly events: Counter<"event">;
  readonly decisionSeconds: Histogram<"decision">;
  readonly jobSeconds: Histogram<"queue" | "outcome">;
  private readonly queues: Queue[] = [];

  constructor(auth0?: Auth0Counters) {
    collectDefaultMetrics({ register: this.registry, prefix: "promote_connection_" });
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
    if (auth0) {
      new Counter({
        name: "promote_connection_auth0_requests_total",
        help: "Auth0 Management API answers by HTTP status (network: no answer)",
        labelNames: ["status"],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const [status, n] of Object.entries(auth0.apiCalls)) this.inc({ status }, n);
        },
      });
      new Counter({
        name: "promote_connection_auth0_token_fetches_total",
        help: "Client-credentials tokens fetched from Auth0",
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(auth0.tokenFetches);
        },
      });
    }
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
