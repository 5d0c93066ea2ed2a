import { Writable } from "node:stream";
import { expect, it } from "vitest";
import { createLogger, redactSecrets, withRequestId } from "../src/log.js";

it("credentials are redacted wherever they travel: fields, messages, URLs", () => {
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
