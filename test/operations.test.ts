import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { pollUntil } from "../src/dev/harness/poll.js";
import { type BotProcess, startBotProcess } from "./support/child.js";
import { type RedisServer, startRedisServer } from "./support/redis-server.js";
import { ACME, REQUESTER, requestAndApprove, type Stack, startStack } from "./support/stack.js";

let stack: Stack | undefined;
let redis: RedisServer | undefined;
const processes: BotProcess[] = [];

afterEach(async () => {
  for (const p of processes.splice(0)) if (p.proc.exitCode === null) p.proc.kill("SIGKILL");
  await stack?.stop();
  stack = undefined;
  await redis?.stop();
  redis = undefined;
});

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

function base(s: Stack): string {
  return s.eventsUrl.replace(/\/slack\/events$/, "");
}

describe("health and metrics", () => {
  it("/healthz says alive, /readyz checks Redis and Slack, /metrics counts what happened", async () => {
    stack = await startStack();
    const s = stack;
    expect(await get(`${base(s)}/healthz`)).toMatchObject({ status: 200 });
    const ready = await get(`${base(s)}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ checks: { redis: "ok", slack: "ok" } });

    s.auth0.injectFault({ method: "PATCH", kind: "ratelimit", resetInSec: 1 });
    const requestId = await requestAndApprove(s);
    await s.slack.waitFor(() => s.auditTexts().find((t) => t.startsWith(`promoted ${requestId}`)), {
      timeoutMs: 15_000,
    });
    // Events are counted as they reach the audit channel: wait for the last one's count.
    const metrics = await pollUntil(
      async () => {
        const body = (await get(`${base(s)}/metrics`)).body;
        return /promote_connection_request_events_total\{event="promoted"\} 1/.test(body) && body;
      },
      { timeoutMs: 5_000, timedOut: () => new Error("the promoted event was never counted") },
    );
    expect(metrics).toMatch(/promote_connection_request_events_total\{event="requested"\} 1/);
    expect(metrics).toMatch(/promote_connection_request_events_total\{event="promoted"\} 1/);
    expect(metrics).toMatch(
      /promote_connection_auth0_requests_total\{tenant="default",status="429"\} 1/,
    );
    expect(metrics).toMatch(/promote_connection_auth0_token_fetches_total\{tenant="default"\} 1/);
    expect(metrics).toMatch(
      /promote_connection_time_to_decision_seconds_count\{decision="approved"\} 1/,
    );
    expect(metrics).toMatch(
      /promote_connection_job_duration_seconds_count\{queue="promote",outcome="completed"\} 1/,
    );
    expect(metrics).toMatch(
      /bullmq_job_count\{[^}]*queue="promote"[^}]*state="completed"[^}]*\} 1/,
    );
    // The standard process metrics go by their usual names, for the usual dashboards.
    for (const standard of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      expect(metrics).toMatch(new RegExp(`^${standard} `, "m"));
    }
    expect(metrics).not.toMatch(/^promote_connection_(process|nodejs)_/m);
  });

  it("/readyz fails when Redis is unreachable, while /healthz still answers", async () => {
    redis = await startRedisServer();
    stack = await startStack({ env: { REDIS_URL: redis.url } });
    expect((await get(`${base(stack)}/readyz`)).status).toBe(200);
    await redis.stop();
    const ready = await get(`${base(stack)}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ checks: { redis: "failing" } });
    expect((await get(`${base(stack)}/healthz`)).status).toBe(200);
  });

  it("ten /readyz probes at once, while Slack is slow, make one auth.test call between them", async () => {
    stack = await startStack();
    const s = stack;
    // Bolt's own auth.test at start-up is not a readiness check: no answer is cached yet.
    const before = s.slack.callsTo("auth.test").length;
    const release = s.slack.holdCalls("auth.test");
    const probes = await Promise.all(Array.from({ length: 10 }, () => get(`${base(s)}/readyz`)));
    // Every probe waited its 2 s on the same unanswered call, then said Slack is failing.
    expect(probes.map((p) => p.status)).toEqual(Array(10).fill(503));
    expect(probes.map((p) => JSON.parse(p.body).checks.slack)).toEqual(Array(10).fill("failing"));
    expect(s.slack.callsTo("auth.test").length - before).toBe(1);

    // Once Slack answers that call, the next probe is ready on its answer, without asking again.
    release();
    expect((await get(`${base(s)}/readyz`)).status).toBe(200);
    expect(s.slack.callsTo("auth.test").length - before).toBe(1);
  });
});

describe("METRICS_PORT keeps /metrics and /readyz off Slack's port", () => {
  it("they answer only on METRICS_PORT (loopback by default); Slack's port keeps /slack/events and /healthz", async () => {
    stack = await startStack({ env: { METRICS_PORT: "0" } });
    const s = stack;
    const slackPort = base(s);
    const ops = s.metricsOrigin;
    expect(ops).not.toBe(slackPort);

    expect((await get(`${slackPort}/metrics`)).status).toBe(404);
    expect((await get(`${slackPort}/readyz`)).status).toBe(404);
    // The image's HEALTHCHECK and a load balancer in front of Slack's port still see it alive.
    expect((await get(`${slackPort}/healthz`)).status).toBe(200);
    expect((await s.command(REQUESTER, "help")).status).toBe(200);

    const metrics = await get(`${ops}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^process_resident_memory_bytes /m);
    expect(JSON.parse((await get(`${ops}/readyz`)).body)).toMatchObject({
      checks: { redis: "ok", slack: "ok" },
    });
    expect((await get(`${ops}/healthz`)).status).toBe(200);
    // And Slack's route is not served on the metrics port.
    const post = await request(`${ops}/slack/events`, { method: "POST", body: "{}" });
    expect(post.statusCode).toBe(404);
    await post.body.dump();

    // Nothing set METRICS_HOST: the metrics port listens on loopback only.
    const started = s.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === "promote-connection started");
    expect(started.metrics).toBe(`127.0.0.1:${new URL(ops).port}`);
  });
});

describe("shutting down", () => {
  it("SIGTERM while a promotion is in flight lets it finish once, then exits 0", async () => {
    stack = await startStack({ role: "bot" });
    const s = stack;
    const worker = await startBotProcess(["--role", "worker"], { ...s.env, LOG_LEVEL: "info" });
    processes.push(worker);
    await worker.waitForOutput(/promote-connection started/);

    // Auth0 answers the PATCH slowly, so the job is mid-flight when the signal comes.
    s.auth0.injectFault({ method: "PATCH", kind: "delay", delayMs: 2_000 });
    const requestId = await requestAndApprove(s);
    await worker.waitForOutput(/change started/);
    worker.proc.kill("SIGTERM");
    expect(await worker.exited()).toBe(0);
    expect(worker.output()).toMatch(/shutting down/);

    const patched = s.auth0.apiRequests("PATCH");
    expect(patched.map((r) => r.status)).toEqual([200]);
    expect(s.auth0.connection(ACME.id)?.is_domain_connection).toBe(true);
    // The outcome was recorded before the worker left; the bot's outbox tells everyone once.
    await s.slack.waitFor(() => s.auditTexts().find((t) => t.startsWith(`promoted ${requestId}`)), {
      timeoutMs: 15_000,
    });
    await s.slack.waitFor(() => s.slack.messages(REQUESTER).length === 1 || undefined);
    expect(s.auditTexts().filter((t) => /^(promoted|failed) /.test(t))).toHaveLength(1);
  }, 40_000);
});
