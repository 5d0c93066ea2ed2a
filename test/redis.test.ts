import { Redis } from "ioredis";
import { expect, inject, it } from "vitest";

it("the test run has a Redis to talk to", async () => {
  const redis = new Redis(inject("redisUrl"));
  expect(await redis.ping()).toBe("PONG");
  redis.disconnect();
});
