import { connect, type Socket } from "node:net";

export interface RawExchange {
  /** Everything the server sent, as text. */
  response: string;
  /** How long after connecting the server closed the connection. */
  closedAfterMs: number;
}

/**
 * Speaks raw HTTP to 127.0.0.1:`port`, for requests no client library would send (bodies that
 * never finish, headers a byte at a time). `talk` writes on the socket and may return a function
 * that stops it. Resolves once the server closes the connection, with what it answered; rejects
 * if the connection is still open after `deadlineMs`.
 */
export function untilServerCloses(
  port: number,
  talk: (socket: Socket) => (() => void) | undefined,
  deadlineMs = 5_000,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const started = performance.now();
    let response = "";
    let stop: (() => void) | undefined;
    const timer = setTimeout(() => {
      stop?.();
      socket.destroy();
      reject(
        new Error(
          `the server kept the connection open for ${deadlineMs} ms; it said: ${JSON.stringify(response.slice(0, 200))}`,
        ),
      );
    }, deadlineMs);
    socket.on("data", (chunk: Buffer) => {
      response += chunk.toString("latin1");
    });
    // A reset (EPIPE, ECONNRESET) while still writing is the server closing too.
    socket.on("error", () => {});
    socket.once("close", () => {
      clearTimeout(timer);
      stop?.();
      resolve({ response, closedAfterMs: performance.now() - started });
    });
    socket.once("connect", () => {
      stop = talk(socket);
    });
  });
}

/** Writes `byte` every `everyMs` until stopped: a client that is slow on purpose. */
export function trickle(socket: Socket, everyMs: number, byte = "a"): () => void {
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(byte);
  }, everyMs);
  return () => clearInterval(timer);
}

/** The status code of a raw HTTP response, e.g. 413. */
export function statusOf(response: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(response);
  return match ? Number(match[1]) : undefined;
}
