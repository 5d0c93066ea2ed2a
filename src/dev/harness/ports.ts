import { freePort } from "../../net.js";

/** A port of 127.0.0.1 that was free a moment ago (see src/net.ts), or an error saying none is. */
export async function freeLoopbackPort(): Promise<number> {
  const port = await freePort();
  if (port === undefined) throw new Error("no free TCP port on 127.0.0.1");
  return port;
}
