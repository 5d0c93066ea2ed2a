export { freeLoopbackPort as freePort } from "../../src/dev/harness/ports.js";
export { type RedisServer, startRedisServer } from "../../src/dev/harness/redis.js";
