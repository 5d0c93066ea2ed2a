import { Writable } from "node:stream";
import { TokenProvider, type TokenProviderOptions, type Transport } from "../../src/auth0/index.js";
import { createLogger, type Logger } from "../../src/log.js";
import type { Auth0Tenant } from "./auth0-emulator.js";

/** The emulated tenant's application, as the runtime configures its TokenProvider. */
export function tokenProviderFor(
  auth0: Auth0Tenant,
  transport: Transport,
  more: Partial<TokenProviderOptions> = {},
): TokenProvider {
  return new TokenProvider({
    baseUrl: auth0.url,
    clientId: auth0.clientId,
    credential: { kind: "secret", secret: auth0.clientSecret },
    audience: auth0.audience,
    transport,
    ...more,
  });
}

/** What `promise` was rejected with; fails the test if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

/** The token requests the emulated tenant received, in order. */
export function tokenRequests(auth0: Auth0Tenant) {
  return auth0.requests.filter((r) => r.path === "/oauth/token");
}

/** A logger whose lines are kept, raw, to check what was (and was not) logged. */
export function capturedLogger(level = "debug"): { logger: Logger; logs: string[] } {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level, destination }), logs };
}
