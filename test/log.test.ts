import { generateKeyPairSync } from "node:crypto";
import { Writable } from "node:stream";
import { expect, it } from "vitest";
import { createLogger, redactSecrets, withRequestId } from "../src/log.js";

/** A debug logger whose raw lines are kept in `lines`. */
function capturing() {
  const lines: string[] = [];
  const logger = createLogger({
    level: "debug",
    destination: new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  return { logger, lines };
}

it("credentials are redacted wherever they travel: fields, messages, URLs", () => {
  const { logger, lines } = capturing();
  const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
  withRequestId("req_abcdefghjk", () => {
    logger.info({ token: "xoxb-1-2-abc", headers: { authorization: `Bearer ${jwt}` } }, "call");
    logger.warn(`posting to https://hooks.slack.com/commands/T1/2/abc failed with xapp-1-A1-2-zz`);
    logger.error(
      { err: new Error(`token endpoint said client_secret=hunter2&x=1 for ${jwt}`) },
      "boom",
    );
  });
  const out = lines.join("");
  for (const secret of [
    "xoxb-1-2-abc",
    jwt,
    "hooks.slack.com/commands",
    "xapp-1-A1-2-zz",
    "hunter2",
  ]) {
    expect(out).not.toContain(secret);
  }
  expect(out).toContain("[REDACTED]");
  expect(lines.every((l) => JSON.parse(l).requestId === "req_abcdefghjk")).toBe(true);
  expect(redactSecrets("Basic dXNlcjpwYXNz")).toBe("[REDACTED]");
});

it("a password inside a URL (REDIS_URL, the embedded Redis's) never reaches a log line", () => {
  const { logger, lines } = capturing();
  logger.warn(
    { url: "redis://:9f86d081884c7d659a2feaa0c55ad015@127.0.0.1:6379" },
    "Redis at rediss://default:s3cr3t-Pa55@cache.example.com:6380/0 is unreachable",
  );
  const out = lines.join("");
  expect(out).not.toContain("9f86d081884c7d659a2feaa0c55ad015");
  expect(out).not.toContain("s3cr3t-Pa55");
  // What is left still says where.
  expect(out).toContain("redis://:[REDACTED]@127.0.0.1:6379");
  expect(out).toContain("rediss://default:[REDACTED]@cache.example.com:6380/0");
  expect(redactSecrets("https://example.com/a:b@c")).toBe("https://example.com/a:b@c");
});

it("a private key or a client assertion never reaches a log line, whole or cut short", () => {
  const { logger, lines } = capturing();
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const body = pem.split("\n")[1] as string;
  const assertion = "eyJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJjIn0.c2lnbmF0dXJlLW9mLXRoZS1rZXk";
  logger.error({ err: new Error(`could not use ${pem}`) }, "key");
  logger.warn({ file: pem.slice(0, 120) }, "a key file cut short");
  logger.debug({ body: { client_assertion: assertion }, privateKey: pem }, "token request");
  logger.debug(`form client_assertion=${assertion}&client_id=c`);
  const out = lines.join("");
  expect(out).not.toContain(body);
  expect(out).not.toContain(body.slice(0, 20));
  expect(out).not.toContain("c2lnbmF0dXJlLW9mLXRoZS1rZXk");
  expect(out).toContain("token request");
});
