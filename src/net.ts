import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: `port` if given and free, any free port
 * for 0. Undefined when `port` is taken.
 */
export function freePort(port = 0): Promise<number | undefined> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(undefined));
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : undefined;
      server.close(() => done(bound));
    });
  });
}
