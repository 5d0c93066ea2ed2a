import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  ConnectionList,
  type ListedConnection,
  listedConnection,
} from "../src/auth0/connection-list.js";
import type { Connection } from "../src/auth0/management.js";
import { connectionOptions, MAX_OPTIONS } from "../src/slack/views/connection-options.js";

/**
 * The connection picker's two halves: the list every replica shares through Redis (one listing a
 * minute for the fleet, whatever the typing), and the matching, which must take milliseconds over
 * a tenant of 10 000 connections.
 */

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.disconnect());

function connection(i: number, domainLevel = false): Connection {
  return {
    id: `con_Many${String(i).padStart(12, "0")}`,
    name: `conn-${i}`,
    display_name: `Customer ${i}`,
    strategy: "auth0",
    is_domain_connection: domainLevel,
  };
}

/** A tenant's listing, counted; `gate` holds it after its first page until released. */
function tenantListing(connections: Connection[], opts: { gate?: Promise<void> } = {}) {
  const state = { listings: 0 };
  const list = async (onPage: (page: readonly Connection[]) => void) => {
    state.listings++;
    onPage(connections.slice(0, 100));
    await opts.gate;
    onPage(connections.slice(100));
    return connections;
  };
  return { state, list };
}

describe("the fleet's connection list", () => {
  const prefix = () => `test-${randomBytes(5).toString("hex")}`;
  const make = (p: string, list: ReturnType<typeof tenantListing>["list"], extra = {}) =>
    new ConnectionList({
      redis,
      prefix: p,
      tenant: "default",
      baseUrl: "http://x",
      list,
      ...extra,
    });

  it("two replicas typing at once cost the tenant one listing; within the minute neither lists again", async () => {
    const p = prefix();
    const tenant = tenantListing(Array.from({ length: 250 }, (_, i) => connection(i)));
    const [a, b] = [make(p, tenant.list), make(p, tenant.list)];
    const [first, second] = await Promise.all([a.snapshot(2_000), b.snapshot(2_000)]);
    expect(first.complete).toBe(true);
    expect(second.complete).toBe(true);
    expect(first.connections).toHaveLength(250);
    expect(second.connections).toHaveLength(250);
    const third = make(p, tenant.list);
    expect((await third.snapshot(2_000)).connections).toHaveLength(250);
    expect(tenant.state.listings).toBe(1);
    // Kept compact, and for the minute only.
    const ttl = await redis.pttl(a.key);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await redis.del(a.key);
  });

  it("past its deadline a caller gets the pages read so far, marked incomplete; then the whole list", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tenant = tenantListing(
      Array.from({ length: 150 }, (_, i) => connection(i)),
      { gate },
    );
    const list = make(prefix(), tenant.list);
    const early = await list.snapshot(50);
    expect(early.complete).toBe(false);
    expect(early.connections).toHaveLength(100);
    release();
    const whole = await list.snapshot(2_000);
    expect(whole).toMatchObject({ complete: true });
    expect(whole.connections).toHaveLength(150);
    expect(tenant.state.listings).toBe(1);
  });

  it("a failed listing is not kept, and not tried again at every keystroke", async () => {
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error("Auth0 says no");
    };
    let now = 1_000_000;
    const list = make(prefix(), failing, { now: () => now, retryAfterFailureMs: 5_000 });
    const first = await list.snapshot(1_000);
    expect(first).toMatchObject({ complete: false, connections: [] });
    expect(String(first.error)).toContain("Auth0 says no");
    await list.snapshot(1_000);
    expect(calls).toBe(1);
    now += 5_000;
    await list.snapshot(1_000);
    expect(calls).toBe(2);
  });
});

describe("matching what was typed", () => {
  const tenThousand = Array.from({ length: 10_000 }, (_, i) =>
    listedConnection(connection(i, i % 7 === 0)),
  ).sort((a, b) => (a.name < b.name ? -1 : 1));

  // How fast: `npm run bench`, section 8 (5 000 connections, typed through the real bot).
  it("offers at most 100 of 10 000 connections, whatever is typed", () => {
    for (const query of ["", "c", "conn-1", "customer 99", "con_many0000", "zzz"]) {
      const { options } = connectionOptions(tenThousand, query, "promote", { complete: true });
      expect(options.length).toBeLessThanOrEqual(MAX_OPTIONS);
    }
    const { options: many } = connectionOptions(tenThousand, "c", "promote", { complete: true });
    expect(many).toHaveLength(MAX_OPTIONS);
  });

  it("puts an exact match first, those needing no change after the others, and cuts text to 75 with the mark kept", () => {
    const long: ListedConnection = {
      id: "con_Long000000000001",
      name: "partner-with-a-very-long-connection-name",
      displayName: "A display name that goes on and on, well past what Slack shows",
      strategy: "samlp",
      domainLevel: true,
    };
    const list = [...tenThousand.slice(0, 20), long].sort((a, b) => (a.name < b.name ? -1 : 1));
    const { options } = connectionOptions(list, "conn-1", "promote", { complete: true });
    expect(options[0]?.text.text).toBe("conn-1 — Customer 1");
    const marked = options.findIndex((o) => o.text.text.endsWith("· already domain-level"));
    const unmarked = options.map((o) => !o.text.text.includes("·")).lastIndexOf(true);
    expect(marked).toBeGreaterThan(unmarked);

    const [cut] = connectionOptions(list, "partner", "promote", { complete: true }).options;
    expect(cut?.text.text.length).toBeLessThanOrEqual(75);
    expect(cut?.text.text).toMatch(
      /^partner-with-a-very-long-connection-name — A displa… · already domain-level$/,
    );
    expect(cut?.value).toBe(long.id);
  });

  it("offers what was typed when the list is incomplete and it could be an id or a name; never markup", () => {
    const partial = tenThousand.slice(0, 3);
    expect(connectionOptions(partial, "acme-db", "promote", { complete: false }).options).toEqual([
      { text: { type: "plain_text", text: "acme-db (as typed)", emoji: false }, value: "acme-db" },
    ]);
    expect(connectionOptions(partial, "acme-db", "promote", { complete: true }).options).toEqual(
      [],
    );
    expect(connectionOptions(partial, "<!here>", "promote", { complete: false }).options).toEqual(
      [],
    );
  });
});
