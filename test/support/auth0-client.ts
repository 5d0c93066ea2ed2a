import { Writable } from "node:stream";
import { TokenProvider, type TokenProviderOptions, type Transport } from "../../src/auth0/index.js";
import { createLogger, type Logger } from "../../src/log.js";
import type { Auth0Emulator } from "./auth0-emulator.js";

/** The emulated tenant's application, as the runtime configures its TokenProvider. */
export function tokenProviderFor(
  auth0: Auth0Emulator,
  transport: Transport,
  more: Partial<TokenProviderOptions> = {},
): TokenProvider {
  return new TokenProvider({
    baseUrl: auth0.url,
    clientId: auth0.clientId,
    clientSecret: auth0.clientSecret,
    audience: auth0.audience,
    transport,
    ...more,
  });
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
