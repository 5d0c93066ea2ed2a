import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { checkRedis } from "../src/doctor/redis.js";
import { createLogger } from "../src/log.js";
import { start } from "../src/runtime/index.js";
import type { RedisServer } from "./support/redis-server.js";
import {
  type Certificates,
  makeCertificates,
  NOWHERE,
  startTlsRedis,
} from "./support/redis-topologies.js";
import { ACME, requestAndApprove, startStack, waitForAudit } from "./support/stack.js";

/*
 * Redis over TLS, as a managed Redis or a hardened one runs it: a real redis-server that speaks
 * TLS only, with a certificate from a private CA, and that asks clients for a certificate of
 * their own (tls-auth-clients yes).
 */

let certs: Certificates;
let redis: RedisServer;

beforeAll(async () => {
  certs = makeCertificates();
  redis = await startTlsRedis(certs);
});
afterAll(async () => {
  await redis?.stop();
  certs?.remove();
});

/** What the bot needs to reach the TLS Redis: its CA, and a client certificate. */
const tlsEnv = (caFile: string) => ({
  REDIS_URL: redis.url,
  REDIS_TLS_CA_FILE: caFile,
  REDIS_TLS_CERT_FILE: certs.clientCert,
  REDIS_TLS_KEY_FILE: certs.clientKey,
});

describe("Redis over TLS (rediss://)", () => {
  it("with the private CA and a client certificate, a request is approved and the connection promoted; the doctor says TLS", async () => {
    const stack = await startStack({ env: tlsEnv(certs.caFile) });
    try {
      const requestId = await requestAndApprove(stack);
      await waitForAudit(stack, "promoted", requestId);
      expect(stack.auth0.connection(ACME.id)).toMatchObject({ is_domain_connection: true });
      expect(await stack.storedRequests()).toMatchObject([{ id: requestId, state: "DONE" }]);

      const [reachable] = await checkRedis(loadConfig(stack.env), 2_000);
      expect(reachable).toMatchObject({ status: "ok" });
      expect(reachable?.detail).toMatch(
        new RegExp(
          `^reachable at rediss://127\\.0\\.0\\.1:${redis.port} \\(single node, TLS; Redis 7\\.`,
        ),
      );
    } finally {
      await stack.stop();
    }
  });

  it("a server certificate from a CA the bot does not trust is refused: start-up stops at once, saying which setting to change, and so does the doctor", async () => {
    const config = loadConfig({ ...NOWHERE, ...tlsEnv(certs.otherCaFile) });
    const began = performance.now();
    const starting = start(config, { role: "worker", logger: createLogger({ level: "silent" }) });
    await expect(starting).rejects.toThrow(
      new RegExp(
        `^Redis at rediss://127\\.0\\.0\\.1:${redis.port}: its TLS certificate is not trusted \\(.+\\): set REDIS_TLS_CA_FILE to the certificate of the CA that signed it$`,
      ),
    );
    // At once: not after the wait a Redis that is merely late would get.
    expect(performance.now() - began).toBeLessThan(5_000);

    const [refused, ...rest] = await checkRedis(config, 2_000);
    expect(refused).toMatchObject({
      status: "fail",
      fix: "set REDIS_TLS_CA_FILE to the certificate of the CA that signed it",
    });
    expect(refused?.detail).toMatch(
      `not reachable at rediss://127.0.0.1:${redis.port}: its TLS certificate is not trusted`,
    );
    expect(rest.map((r) => r.status)).toEqual(["skip", "skip", "skip"]);
  });

  it("without the CA file, the system's CAs are used, and this private one is not among them", async () => {
    const { REDIS_TLS_CA_FILE: _ca, ...withoutCa } = { ...NOWHERE, ...tlsEnv(certs.caFile) };
    const [refused] = await checkRedis(loadConfig(withoutCa), 2_000);
    expect(refused).toMatchObject({ status: "fail" });
    expect(refused?.detail).toContain("its TLS certificate is not trusted");
  });

  it("a client without a certificate, or speaking plain redis://, is reset by this Redis: the doctor says what that usually means", async () => {
    const {
      REDIS_TLS_CERT_FILE: _c,
      REDIS_TLS_KEY_FILE: _k,
      ...noClientCert
    } = {
      ...NOWHERE,
      ...tlsEnv(certs.caFile),
    };
    const [withoutCert] = await checkRedis(loadConfig(noClientCert), 2_000);
    // TLS 1.3: the server's "certificate required" alert, or a reset, whichever the client reads
    // first; both say what to set.
    expect(`${withoutCert?.detail} ${withoutCert?.fix}`).toMatch(
      /(asks for a client certificate|tls-auth-clients yes).*set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE/,
    );
    const plain = { ...NOWHERE, REDIS_URL: `redis://127.0.0.1:${redis.port}` };
    const [plainText] = await checkRedis(loadConfig(plain), 2_000);
    expect(plainText?.detail).toMatch(/the connection was (reset|closed) \(.*TLS only.*\)$/);
    expect(plainText?.fix).toBe("if it speaks TLS, write REDIS_URL as rediss://…");
  });
});
