/** The Auth0 emulator's public types: what tests and tools see of it. */
import type { WaitFor } from "../../harness/poll.js";

export interface EmulatedConnection {
  id: string;
  name: string;
  display_name?: string;
  strategy: string;
  is_domain_connection: boolean;
  options?: Record<string, unknown>;
  enabled_clients?: string[];
  realms?: string[];
  metadata?: Record<string, string>;
  show_as_button?: boolean;
}

export interface Auth0Request {
  method: string;
  /** The path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  /** Parsed JSON or form body (undefined when there was none). */
  body: unknown;
  /** The status answered; 0 when the connection was reset or the answer never went out. */
  status: number;
  /** Epoch milliseconds with sub-millisecond precision, when the request arrived. */
  at: number;
  /** The bearer token presented, for API requests. */
  token?: string;
  /** Headers of the answer (x-ratelimit-*, …), once it went out. */
  responseHeaders?: Record<string, string>;
}

export interface Auth0FaultSpec {
  method?: string;
  /** A RegExp tested against the path, or a path prefix. */
  path?: RegExp | string;
  /** How many matching requests this fault answers (default 1). */
  times?: number;
  /** `html`: 200 with an HTML page, as a proxy's login page or a host that is not Auth0 gives. */
  kind: "status" | "delay" | "reset" | "ratelimit" | "html";
  status?: number;
  /** `delay`: how long before answering as usual; `status`: before the status (default none). */
  delayMs?: number;
  resetInSec?: number;
}

export interface Auth0EmulatorOptions {
  clientId?: string;
  clientSecret?: string;
  /** Scopes granted to tokens (default read:connections update:connections read:tenant_settings). */
  scopes?: string[];
  tokenExpiresIn?: number;
  /** The Management API bucket; default: not enforced, headers report a generous bucket. */
  rateLimit?: { perSecond: number; burst: number };
  dynamicClientRegistration?: boolean;
  connections?: EmulatedConnection[];
}

export interface Auth0Emulator {
  /** http://127.0.0.1:PORT, what AUTH0_DOMAIN gets. */
  url: string;
  /** `${url}/api/v2/` */
  audience: string;
  clientId: string;
  clientSecret: string;
  /** Every request, in arrival order, token requests included. */
  requests: Auth0Request[];
  apiRequests(method?: string, pathPrefix?: string): Auth0Request[];
  tokensIssued: number;
  addConnection(c: EmulatedConnection): void;
  connection(id: string): EmulatedConnection | undefined;
  setScopes(scopes: string[]): void;
  setDynamicClientRegistration(on: boolean): void;
  /** Whether the application is authorized for the Management API (has a client grant). */
  setClientGrant(on: boolean): void;
  /** The grant types the application may use (default: client_credentials). */
  setGrantTypes(grantTypes: string[]): void;
  /** The issuer discovery names (default `${url}/`); a custom domain's differs. */
  setIssuer(issuer: string | undefined): void;
  revokeTokens(): void;
  setRateLimit(rl: { perSecond: number; burst: number } | undefined): void;
  injectFault(f: Auth0FaultSpec): void;
  waitFor: WaitFor;
  reset(): void;
  close(): Promise<void>;
}
