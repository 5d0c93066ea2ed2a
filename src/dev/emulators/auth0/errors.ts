import { STATUS_CODES } from "node:http";

/** An error body as the Management API sends it: `{statusCode, error, message, errorCode?}`. */
export function auth0Error(
  status: number,
  message: string,
  errorCode?: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    statusCode: status,
    error: STATUS_CODES[status] ?? "Error",
    message,
    ...(errorCode ? { errorCode } : {}),
    ...extra,
  };
}

/** A status and a JSON body, what the emulator's endpoints return to be answered. */
export type Answer = [status: number, body: unknown];
