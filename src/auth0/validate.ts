/**
 * Shapes of the identifiers that may reach an Auth0 URL. Anything else is refused before a
 * request is built, so a malformed or hostile value (`../clients`, `con_x?fields=`) can never
 * change which endpoint is called.
 */

/** Auth0 connection ids: `con_` followed by 16 letters or digits. */
const CONNECTION_ID = /^con_[A-Za-z0-9]{16}$/;

/** Auth0 connection names: letters, digits and inner hyphens, at most 128 characters. */
const CONNECTION_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const CONNECTION_NAME_MAX = 128;

export function isConnectionId(value: unknown): value is string {
  return typeof value === "string" && CONNECTION_ID.test(value);
}

export function isConnectionName(value: unknown): value is string {
  return (
    typeof value === "string" && value.length <= CONNECTION_NAME_MAX && CONNECTION_NAME.test(value)
  );
}

/** A short, quoted rendering of untrusted input for error messages. */
export function quoteInput(value: unknown, max = 64): string {
  const text = typeof value === "string" ? value : String(value);
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
