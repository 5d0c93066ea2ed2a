/**
 * Row 3d, the peer: node-auth0's ManagementClient (the official SDK, a dev dependency) promoting
 * as many connections as row 3a through the same bucket, as a script would: GET the connection,
 * PATCH it keeping its display name, a fixed number at a time, with the SDK's own token cache
 * and its own retries (2 by default, each waiting for x-ratelimit-reset).
 *
 * The SDK takes a bare `domain` and always speaks https to it; the emulator listens on plain
 * http on loopback. The client is given `domain` = the emulator's host:port and a `fetch` (an
 * option of the SDK, used for the token request and every API call) that turns
 * `https://127.0.0.1:PORT/` into `http://127.0.0.1:PORT/` and refuses anything else. Nothing
 * else of the SDK is changed, and neither side pays for TLS, as the bot does not here.
 */
import { ManagementClient } from "auth0";
import { PEER_CONCURRENCY, PRODUCTION_BUCKET, PROMOTIONS } from "./config.js";
import type { ApiCall } from "./emulator-thread.js";
import { epochNow } from "./emulators.js";
import { bucketWords, pacingRows } from "./paced.js";
import { progress } from "./report.js";
import type { World } from "./world.js";

/** The global fetch, to the emulator over http: the SDK's https URLs for its host, nothing else. */
function plainHttpTo(host: string): typeof fetch {
  const https = `https://${host}/`;
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith(https)) throw new Error(`the peer asked for ${url}, not the emulator`);
    const http = `http://${host}/${url.slice(https.length)}`;
    return input instanceof Request ? fetch(new Request(http, input), init) : fetch(http, init);
  };
}

export async function measurePeer(world: World, connectionIds: string[]): Promise<void> {
  const { report, emu, info } = world;
  report.section = 3;
  const title = `3d. peer: node-auth0 ManagementClient, ${PROMOTIONS} promotions ${PEER_CONCURRENCY} at a time`;
  progress(`${title}, bucket ${bucketWords(PRODUCTION_BUCKET)}`);
  const host = new URL(info.auth0Url).host;
  const client = new ManagementClient({
    domain: host,
    clientId: info.clientId,
    clientSecret: info.clientSecret,
    audience: `${info.auth0Url}/api/v2/`,
    fetch: plainHttpTo(host),
  });
  await emu.call({ op: "setRateLimit", rateLimit: PRODUCTION_BUCKET });
  const tokensBefore = await emu.call<number>({ op: "tokensIssued" });
  const from = await emu.call<number>({ op: "apiCallCount" });

  const failures: string[] = [];
  const queue = [...connectionIds];
  const startedAt = epochNow();
  await Promise.all(
    Array.from({ length: PEER_CONCURRENCY }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          const current = await client.connections.get(id);
          await client.connections.update(id, {
            is_domain_connection: true,
            display_name: current.display_name,
          });
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
      }
    }),
  );

  const calls = await emu.call<ApiCall[]>({ op: "apiCalls", from });
  const tokens = (await emu.call<number>({ op: "tokensIssued" })) - tokensBefore;
  world.auth0Cost.peerTokens += tokens;
  pacingRows(
    report,
    title,
    PRODUCTION_BUCKET,
    {
      promotions: connectionIds.length,
      failed: failures.length,
      unfinished: 0,
      calls,
      tookMs: Math.max(...calls.map((c) => emu.ours(c.at))) - startedAt,
      tokens,
    },
    false,
  );
  if (failures[0]) {
    report.note(`3d. the peer's first failure: ${failures[0].replace(/\s+/g, " ").slice(0, 200)}`);
  }
  await emu.call({ op: "setRateLimit", rateLimit: null });
}
