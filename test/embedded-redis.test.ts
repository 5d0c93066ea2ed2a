import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { findOnPath, RedisServerNotFoundError, startEmbeddedRedis } from "../src/embedded-redis.js";
import { createLogger } from "../src/log.js";

function capturingLogger(level = "info") {
  const lines: { level: number; msg: string }[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString());
      for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines, raw };
}

/** redis://127.0.0.1:PORT, without the password: where the embedded Redis says it is. */
const withoutPassword = (url: string) => `redis://127.0.0.1:${new URL(url).port}`;

/** Sends one command, in Redis's inline form, on a fresh connection; resolves with the reply. */
function askWithoutPassword(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(`${command}\r\n`));
    socket.once("data", (reply) => {
      socket.destroy();
      resolve(reply.toString());
    });
    socket.once("error", reject);
  });
}

async function pidOf(url: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  const pid = Number((await client.info("server")).match(/process_id:(\d+)/)?.[1]);
  client.disconnect();
  return pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "promote-connection-embedded-redis-"));
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start without REDIS_URL runs its own Redis", () => {
  it("a request written before a restart is still there after it (AOF under the data dir)", async () => {
    const { logger, lines } = capturingLogger();
    const first = await startEmbeddedRedis({ dataDir, logger });
    expect(first.url).toMatch(/^redis:\/\/:[0-9a-f]{64}@127\.0\.0\.1:\d+$/);
    expect(lines.map((l) => l.msg)).toContain(
      `started embedded Redis at ${withoutPassword(first.url)} (password required; data in ${dataDir})`,
    );

    const before = new Redis(first.url, { lazyConnect: true });
    await before.connect();
    expect(await before.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
    expect(await before.config("GET", "appendfsync")).toEqual(["appendfsync", "everysec"]);
    expect(await before.config("GET", "maxmemory-policy")).toEqual([
      "maxmemory-policy",
      "noeviction",
    ]);
    expect(await before.config("GET", "bind")).toEqual(["bind", "127.0.0.1"]);
    await before.set("promote-connection:request:r1", "PENDING");
    const pid = Number((await before.info("server")).match(/process_id:(\d+)/)?.[1]);
    before.disconnect();
    await first.stop();
    expect(isAlive(pid)).toBe(false);

    const second = await startEmbeddedRedis({ dataDir, logger });
    const after = new Redis(second.url, { lazyConnect: true });
    await after.connect();
    expect(await after.get("promote-connection:request:r1")).toBe("PENDING");
    after.disconnect();
    await second.stop();
  });

  it("stop leaves no redis-server behind, and calling it twice is harmless", async () => {
    const { logger } = capturingLogger();
    const redis = await startEmbeddedRedis({ dataDir, logger });
    const client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    const pid = Number((await client.info("server")).match(/process_id:(\d+)/)?.[1]);
    client.disconnect();
    expect(isAlive(pid)).toBe(true);
    await Promise.all([redis.stop(), redis.stop()]);
    expect(isAlive(pid)).toBe(false);
  });

  it("uses the port it is given", async () => {
    const { logger } = capturingLogger();
    const probe = await startEmbeddedRedis({ dataDir, logger });
    const port = Number(new URL(probe.url).port);
    await probe.stop();
    const redis = await startEmbeddedRedis({ dataDir, logger, port });
    expect(withoutPassword(redis.url)).toBe(`redis://127.0.0.1:${port}`);
    await redis.stop();
  });

  it("a second start on the same data dir is refused while the first runs, saying how to share it", async () => {
    const { logger } = capturingLogger();
    const first = await startEmbeddedRedis({ dataDir, logger });
    const lock = join(dataDir, "embedded-redis.lock");
    try {
      const second = startEmbeddedRedis({ dataDir, logger });
      await expect(second).rejects.toThrow(
        `already using ${dataDir} at ${withoutPassword(first.url)}; to share it, set REDIS_URL to the "url" in ${lock}`,
      );
      // The message is printed; the password is only in the file, which only its owner reads.
      await expect(second).rejects.not.toThrow(new URL(first.url).password);
      expect(JSON.parse(readFileSync(lock, "utf8")).url).toBe(first.url);
      expect(statSync(lock).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    } finally {
      await first.stop();
    }
    // Once the first has stopped, the directory is free again.
    const again = await startEmbeddedRedis({ dataDir, logger });
    await again.stop();
  });
});

describe("the embedded Redis requires a password", () => {
  it("it generates one at each start; without it Redis refuses every command", async () => {
    const { logger } = capturingLogger();
    const redis = await startEmbeddedRedis({ dataDir, logger });
    const password = new URL(redis.url).password;
    try {
      expect(await askWithoutPassword(Number(new URL(redis.url).port), "PING")).toMatch(/^-NOAUTH/);
      expect(
        await askWithoutPassword(Number(new URL(redis.url).port), "AUTH not-the-password"),
      ).toMatch(/^-WRONGPASS/);

      const client = new Redis(redis.url, { lazyConnect: true });
      await client.connect();
      expect(await client.ping()).toBe("PONG");
      client.disconnect();
    } finally {
      await redis.stop();
    }
    const again = await startEmbeddedRedis({ dataDir, logger });
    expect(new URL(again.url).password).not.toBe(password);
    await again.stop();
  });

  it("the password is in no command line (ps) and no log line, even at debug", async () => {
    const { logger, raw } = capturingLogger("debug");
    const redis = await startEmbeddedRedis({ dataDir, logger });
    const password = new URL(redis.url).password;
    const pid = await pidOf(redis.url);
    try {
      const commandLine = execFileSync("ps", ["-ww", "-o", "args=", "-p", String(pid)], {
        encoding: "utf8",
      });
      // ps shows redis-server's real arguments (no title of its own in their place)…
      expect(commandLine).toContain(`--port ${new URL(redis.url).port}`);
      // …and the password is not among them.
      expect(commandLine).not.toContain(password);
    } finally {
      await redis.stop();
    }
    expect(raw.join("").length).toBeGreaterThan(0);
    expect(raw.join("")).not.toContain(password);
  });
});

describe("without redis-server installed", () => {
  const advice =
    /not found on PATH, and REDIS_URL is not set\. Install Redis 7 \(Debian\/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis\).*or set REDIS_URL/;

  it("an empty PATH gives a message that says what to install, or to set REDIS_URL", async () => {
    vi.stubEnv("PATH", "");
    const { logger } = capturingLogger();
    const attempt = startEmbeddedRedis({ dataDir, logger });
    await expect(attempt).rejects.toBeInstanceOf(RedisServerNotFoundError);
    await expect(attempt).rejects.toThrow(advice);
  });

  it("a binary that does not exist gives the same message, naming it", async () => {
    const { logger } = capturingLogger();
    await expect(
      startEmbeddedRedis({ dataDir, logger, bin: "redis-server-that-is-not-installed" }),
    ).rejects.toThrow(/^redis-server-that-is-not-installed was not found on PATH/);
  });

  it("findOnPath finds executables like `command -v` does, and nothing else", () => {
    expect(findOnPath("redis-server")).toMatch(/\/redis-server$/);
    expect(findOnPath("redis-server", "")).toBeUndefined();
    expect(findOnPath("no-such-binary-anywhere")).toBeUndefined();
    expect(findOnPath(basename(process.execPath), dirname(process.execPath))).toBe(
      process.execPath,
    );
  });
});
