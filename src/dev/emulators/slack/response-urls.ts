/**
 * response_url sinks: `POST /response/<id>` records the JSON that Bolt's `respond()` posts there
 * (with the global fetch, not through the Web API client), and answers `{ok:true}`.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type FaultQueue, readBody, sendJson } from "../http.js";
import type { SlackResponseRecord } from "./types.js";
import { answerFault, type PendingSlackFault } from "./web-api.js";

export interface ResponseUrls {
  /** A fresh unique `<baseUrl>/response/<id>`. */
  next(): string;
  /** Bodies posted, in arrival order. */
  responses: SlackResponseRecord[];
  handle(req: IncomingMessage, res: ServerResponse, id: string): Promise<void>;
}

/** Faults queued for the method "response_url" answer these posts. */
export function responseUrls(baseUrl: string, faults: FaultQueue<PendingSlackFault>): ResponseUrls {
  const responses: SlackResponseRecord[] = [];
  let counter = 0;
  return {
    next: () => {
      counter += 1;
      return `${baseUrl}/response/r${counter}-${randomBytes(4).toString("hex")}`;
    },
    responses,
    async handle(req, res, id) {
      const raw = await readBody(req);
      let body: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(raw);
        body =
          typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
            ? (parsed as Record<string, unknown>)
            : { _raw: raw };
      } catch {
        body = { _raw: raw };
      }
      responses.push({ id, url: `${baseUrl}/response/${id}`, body, at: Date.now() });
      const fault = faults.take((f) => f.method === "response_url")?.fault;
      if (fault) return answerFault(res, fault);
      sendJson(res, 200, { ok: true });
    },
  };
}
