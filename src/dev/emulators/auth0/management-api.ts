/**
 * The Management API v2 endpoints the bot uses, on an emulated tenant: list connections (by name
 * or strategy; in checkpoint pages with take/from/next; with fields/include_fields), read and
 * patch them (Auth0's validation and its display_name rule included), read tenant settings, and
 * list applications (offset paging, filters, include_totals). Scopes are checked here;
 * authentication and the rate limit come before (index.ts).
 */
import { listClients } from "./clients.js";
import { type Answer, auth0Error } from "./errors.js";
import type { IssuedToken } from "./oauth.js";
import type { Auth0Request, EmulatedClient, EmulatedConnection } from "./types.js";

const CONNECTION_ID = /^con_[A-Za-z0-9]{16}$/;
const PATCHABLE = new Set([
  "display_name",
  "options",
  "enabled_clients",
  "is_domain_connection",
  "show_as_button",
  "realms",
  "metadata",
  "authentication",
  "connected_accounts",
]);

const NOT_FOUND: Answer = [404, auth0Error(404, "Not Found")];
const NO_CONNECTION: Answer = [
  404,
  auth0Error(404, "The connection does not exist", "inexistent_connection"),
];

export interface ManagementApi {
  /** Answers an authenticated `/api/v2/...` request. */
  handle(record: Auth0Request, token: IssuedToken, bodyError: boolean): Answer;
  addConnection(c: EmulatedConnection): void;
  connection(id: string): EmulatedConnection | undefined;
  addClient(c: EmulatedClient): void;
  setDynamicClientRegistration(on: boolean): void;
  /** Back to the connections and settings it started with. */
  reset(): void;
}

/** `needed`: one scope, or several separated by commas, any of which will do. */
function insufficientScope(granted: string[], needed: string): Answer | undefined {
  if (needed.split(",").some((scope) => granted.includes(scope))) return undefined;
  return [
    403,
    auth0Error(403, `Insufficient scope, expected any of: ${needed}`, "insufficient_scope"),
  ];
}

function invalidId(id: string, what: string): Answer | undefined {
  if (CONNECTION_ID.test(id)) return undefined;
  return [
    400,
    auth0Error(
      400,
      `Path validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$: ${id}' on property id (${what}).`,
      "invalid_uri",
    ),
  ];
}

function invalidBody(message: string): Answer {
  return [400, auth0Error(400, `Payload validation error: '${message}'.`, "invalid_body")];
}

function typeError(prop: string, expected: string, value: unknown): Answer {
  const found = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  return [
    400,
    auth0Error(
      400,
      `Payload validation error: 'Expected type ${expected} but found type ${found}' on property ${prop}.`,
      "invalid_body",
    ),
  ];
}

/** Why Auth0 would refuse this PATCH body, or undefined when it would take it. */
function patchRefusal(body: unknown, token: IssuedToken, bodyError: boolean): Answer | undefined {
  if (bodyError) return [400, auth0Error(400, "Invalid request payload JSON format")];
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return invalidBody("Expected type object but found type null");
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !PATCHABLE.has(k));
  if (unknown.length > 0) {
    return invalidBody(`Additional properties not allowed: ${unknown.join(",")}`);
  }
  if (Object.keys(fields).length === 0) {
    return invalidBody("Too few properties defined (0), minimum 1");
  }
  if ("is_domain_connection" in fields && typeof fields.is_domain_connection !== "boolean") {
    return typeError("is_domain_connection", "boolean", fields.is_domain_connection);
  }
  if ("show_as_button" in fields && typeof fields.show_as_button !== "boolean") {
    return typeError("show_as_button", "boolean", fields.show_as_button);
  }
  if ("display_name" in fields) {
    if (typeof fields.display_name !== "string")
      return typeError("display_name", "string", fields.display_name);
    if (fields.display_name.length > 128) {
      return [
        400,
        auth0Error(
          400,
          "Payload validation error: 'String is too long (>128 chars)' on property display_name.",
          "invalid_body",
        ),
      ];
    }
  }
  if ("options" in fields && !token.scopes.includes("update:connections_options")) {
    return insufficientScope(token.scopes, "update:connections_options");
  }
  return undefined;
}

function queryError(message: string): Answer {
  return [400, auth0Error(400, `Query validation error: ${message}.`, "invalid_query_string")];
}

type Shown = (c: EmulatedConnection) => Record<string, unknown>;

/**
 * `fields` (comma-separated) and `include_fields` (default true): only those fields, or all but
 * those. A copy either way.
 */
function fieldsOf(query: Record<string, string>): Shown | Answer {
  const { fields, include_fields: include } = query;
  if (include !== undefined && include !== "true" && include !== "false") {
    return queryError("'Expected type boolean but found type string' on property include_fields");
  }
  if (!fields) return (c) => structuredClone(c) as unknown as Record<string, unknown>;
  const names = new Set(fields.split(",").map((f) => f.trim()));
  const keep = include !== "false";
  return (c) =>
    Object.fromEntries(
      Object.entries(structuredClone(c)).filter(([key]) => names.has(key) === keep),
    );
}

/**
 * Checkpoint pagination, as Auth0 answers it once `take` is given: `{connections, next}`, `next`
 * an opaque checkpoint to pass as `from`, absent on the last page. `take` is 1 to 100.
 */
function checkpointPage(
  list: EmulatedConnection[],
  query: Record<string, string>,
  shown: Shown,
): Answer {
  const take = Number(query.take);
  if (!Number.isInteger(take) || take < 1 || take > 100) {
    return queryError(`'Value ${query.take} is not between 1 and 100' on property take`);
  }
  let start = 0;
  if (query.from !== undefined) {
    const id = Buffer.from(query.from, "base64url").toString("utf8");
    start = list.findIndex((c) => c.id === id);
    if (start === -1) return queryError("'Invalid checkpoint' on property from");
  }
  const page = list.slice(start, start + take);
  const after = list[start + take];
  return [
    200,
    {
      connections: page.map(shown),
      ...(after ? { next: Buffer.from(after.id, "utf8").toString("base64url") } : {}),
    },
  ];
}

export function managementApi(options: {
  connections: EmulatedConnection[];
  clients: EmulatedClient[];
  dynamicClientRegistration: boolean;
}): ManagementApi {
  const initial = options.connections.map((c) => structuredClone(c));
  let connections = new Map(initial.map((c) => [c.id, structuredClone(c)]));
  let clients = options.clients.map((c) => structuredClone(c));
  let dcr = options.dynamicClientRegistration;

  const patchConnection = (
    id: string,
    body: unknown,
    token: IssuedToken,
    bodyError: boolean,
  ): Answer => {
    const refused = patchRefusal(body, token, bodyError);
    if (refused) return refused;
    const fields = body as Record<string, unknown>;
    const current = connections.get(id);
    if (!current) return NO_CONNECTION;
    const updated: EmulatedConnection = {
      ...current,
      ...(structuredClone(fields) as Partial<EmulatedConnection>),
    };
    // Documented: "If display_name is not included in the request, the field will be
    // overwritten with the name value."
    if (!("display_name" in fields)) updated.display_name = current.name;
    connections.set(id, updated);
    return [200, structuredClone(updated)];
  };

  const tenantSettings = () => ({
    friendly_name: "Emulated Tenant",
    picture_url: "",
    support_email: "",
    support_url: "",
    enabled_locales: ["en"],
    sandbox_version: "22",
    flags: {
      enable_dynamic_client_registration: dcr,
      enable_client_connections: true,
      allow_legacy_delegation_grant_types: false,
      revoke_refresh_token_grant: false,
      disable_clickjack_protection_headers: false,
    },
  });

  /** PATCH /api/v2/tenants/settings: flags named are set, the others left alone. */
  const patchTenantSettings = (body: unknown): Answer => {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return typeError("body", "object", body);
    }
    const unknownKeys = Object.keys(body).filter((k) => k !== "flags");
    if (unknownKeys.length > 0) {
      return invalidBody(`Additional properties not allowed: ${unknownKeys.join(",")}`);
    }
    const flags = (body as { flags?: unknown }).flags;
    if (typeof flags !== "object" || flags === null || Array.isArray(flags)) {
      return typeError("flags", "object", flags);
    }
    for (const [flag, value] of Object.entries(flags)) {
      if (typeof value !== "boolean") return typeError(`flags.${flag}`, "boolean", value);
    }
    const dcrFlag = (flags as Record<string, boolean>).enable_dynamic_client_registration;
    if (dcrFlag !== undefined) dcr = dcrFlag;
    return [200, tenantSettings()];
  };

  return {
    handle(record, token, bodyError) {
      const { method, path } = record;
      if (path === "/api/v2/connections" && method === "GET") {
        const denied = insufficientScope(token.scopes, "read:connections");
        if (denied) return denied;
        const { name, strategy } = record.query;
        const list = [...connections.values()].filter(
          (c) =>
            (name === undefined || c.name === name) &&
            (strategy === undefined || c.strategy === strategy),
        );
        const shown = fieldsOf(record.query);
        if (typeof shown !== "function") return shown;
        if (record.query.take === undefined) return [200, list.map(shown)];
        return checkpointPage(list, record.query, shown);
      }
      const one = /^\/api\/v2\/connections\/([^/]+)$/.exec(path);
      if (one) {
        const id = decodeURIComponent(one[1] ?? "");
        if (method === "GET") {
          const denied = insufficientScope(token.scopes, "read:connections");
          if (denied) return denied;
          const bad = invalidId(id, "ID of the connection to retrieve");
          if (bad) return bad;
          const c = connections.get(id);
          return c ? [200, structuredClone(c)] : NO_CONNECTION;
        }
        if (method === "PATCH") {
          const denied = insufficientScope(token.scopes, "update:connections");
          if (denied) return denied;
          const bad = invalidId(id, "The id of the connection to update");
          if (bad) return bad;
          return patchConnection(id, record.body, token, bodyError);
        }
        return NOT_FOUND;
      }
      if (path === "/api/v2/clients" && method === "GET") {
        return (
          insufficientScope(token.scopes, "read:clients,read:client_keys") ??
          listClients(clients, record.query)
        );
      }
      if (path === "/api/v2/tenants/settings" && method === "GET") {
        const denied = insufficientScope(token.scopes, "read:tenant_settings");
        return denied ?? [200, tenantSettings()];
      }
      if (path === "/api/v2/tenants/settings" && method === "PATCH") {
        const denied = insufficientScope(token.scopes, "update:tenant_settings");
        if (denied) return denied;
        if (bodyError) return [400, auth0Error(400, "Invalid request payload JSON format")];
        return patchTenantSettings(record.body);
      }
      return NOT_FOUND;
    },
    addConnection(c) {
      connections.set(c.id, structuredClone(c));
    },
    connection(id) {
      const c = connections.get(id);
      return c ? structuredClone(c) : undefined;
    },
    addClient(c) {
      clients.push(structuredClone(c));
    },
    setDynamicClientRegistration(on) {
      dcr = on;
    },
    reset() {
      connections = new Map(initial.map((c) => [c.id, structuredClone(c)]));
      clients = options.clients.map((c) => structuredClone(c));
      dcr = options.dynamicClientRegistration;
    },
  };
}
