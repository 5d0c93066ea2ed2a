import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { CHANGE_QUEUE, type ChangeJobData, enqueueChange } from "../src/jobs/queues.js";
import { RequestStore } from "../src/requests/store.js";
import { connectionRequest, createApproved } from "./support/requests.js";
import {
  ACME,
  APPROVER,
  ask,
  REQUESTER,
  requestAndApprove,
  type Stack,
  startStack,
} from "./support/stack.js";

let stack: Stack;

afterEach(async () => {
  await stack?.stop();
});

async function outcome(s: Stack, requestId: string): Promise<string> {
  return s.slack.waitFor(
    () => s.auditTexts().find((t) => /^(promoted|failed) /.test(t) && t.includes(requestId)),
    { what: `the outcome of ${requestId}`, timeoutMs: 20_000 },
  );
}

describe("the worker against Auth0", () => {
  it("a 429 holds the job until the rate limit resets, then succeeds without a new token", async () => {
    stack = await startStack();
    stack.auth0.injectFault({ method: "PATCH", kind: "ratelimit", resetInSec: 1 });
    const started = Date.now();
    const requestId = await requestAndApprove(stack);
    expect(await outcome(stack, requestId)).toMatch(/^promoted/);
    const patches = stack.auth0.apiRequests("PATCH");
    expect(patches.map((r) => r.status)).toEqual([429, 200]);
    // Waited for the reset instead of spinning: the retry came after it, and only once.
    expect((patches[1]?.at ?? 0) - (patches[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(stack.auth0.tokensIssued).toBe(1);
  });

  it("a 401 drops the cached token and fetches exactly one new one", async () => {
    stack = await startStack();
    const requestId = await ask(stack, ACME.id);
    expect(stack.auth0.tokensIssued).toBe(1);
    stack.auth0.revokeTokens();
    await stack.click(APPROVER, "approve_request", requestId);
    expect(await outcome(stack, requestId)).toMatch(/^promoted/);
    expect(stack.auth0.tokensIssued).toBe(2);
    expect(stack.auth0.connection(ACME.id)?.is_domain_connection).toBe(true);
  });

  it("a 403 fails the request at once, telling everyone which scope is missing", async () => {
    stack = await startStack({
      auth0: { scopes: ["read:connections", "read:tenant_settings"] },
    });
    const requestId = await requestAndApprove(stack);
    const line = await outcome(stack, requestId);
    expect(line).toMatch(/^failed/);
    expect(line).toContain("update:connections");
    expect(stack.auth0.apiRequests("PATCH")).toHaveLength(1);
    const dm = await stack.slack.waitFor(() => stack.slack.messages(REQUESTER).at(-1));
    expect(dm.text).toContain("update:connections");
    expect(stack.auth0.connection(ACME.id)?.is_domain_connection).toBe(false);
  });

  it("a 503 is retried with backoff and then succeeds", async () => {
    stack = await startStack();
    stack.auth0.injectFault({ method: "PATCH", kind: "status", status: 503 });
    const requestId = await requestAndApprove(stack);
    expect(await outcome(stack, requestId)).toMatch(/^promoted/);
    expect(stack.auth0.apiRequests("PATCH").map((r) => r.status)).toEqual([503, 200]);
  });

  it("a connection without a display name keeps its name as display name", async () => {
    stack = await startStack();
    stack.auth0.addConnection({
      id: "con_NoDisplay0000001",
      name: "no-display",
      strategy: "samlp",
      is_domain_connection: false,
    });
    const requestId = await requestAndApprove(stack, "con_NoDisplay0000001");
    expect(await outcome(stack, requestId)).toMatch(/^promoted/);
    expect(stack.auth0.apiRequests("PATCH")[0]?.body).toEqual({
      is_domain_connection: true,
      display_name: "no-display",
    });
  });

  it("100 promotions share one token", async () => {
    stack = await startStack({ role: "worker", env: { AUTH0_MAX_REQUESTS_PER_SECOND: "1000" } });
    const redis = new Redis(stack.env.REDIS_URL as string);
    const prefix = stack.env.REDIS_PREFIX as string;
    // Approved a while ago, so the worker does not wait for the bot's "approved" audit lines.
    const store = new RequestStore(redis, prefix, () => Date.now() - 15_000);
    const queue = new Queue<ChangeJobData>(CHANGE_QUEUE, { connection: redis, prefix });
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const id = `con_Bulk${String(i).padStart(12, "0")}`;
      stack.auth0.addConnection({
        id,
        name: `bulk-${i}`,
        strategy: "auth0",
        is_domain_connection: false,
      });
      ids.push(
        await createApproved(
          store,
          connectionRequest(
            { id, name: `bulk-${i}` },
            { requesterId: `U${String(i).padStart(8, "0")}` },
          ),
          APPROVER,
        ),
      );
    }
    await Promise.all(ids.map((id) => enqueueChange(queue, id)));
    await stack.slack.waitFor(
      () => stack.auth0.apiRequests("PATCH").filter((r) => r.status === 200).length === 100,
      { what: "100 PATCHes", timeoutMs: 25_000 },
    );
    expect(stack.auth0.tokensIssued).toBe(1);
    await queue.close();
    redis.disconnect();
  });
});
