/** The Auth0 emulator's public types: what tests and tools see of it. */
import type { KeyObject } from "node:crypto";
import type { WaitFor } from "../../harness/poll.js";

/** The algorithms the emulator verifies client assertions in (Auth0 documents RS256, RS384, PS256). */
export type ClientAssertionAlg = "RS256" | "RS384" | "PS256" | "ES256";

/** A public key to register with the application for private_key_jwt (an Auth0 "credential"). */
export interface ClientKeyOptions {
  /** Default RS256. The key must fit it: RSA of 2048 bits or more, or EC P-256 for ES256. */
  alg?: ClientAssertionAlg;
  /** PEM or KeyObject (a private key is taken for its public half). Absent: a pair is made. */
  publicKey?: KeyObject | string;
  /** The kid Auth0 gives the credential; default a random one. */
  keyId?: string;
}

/** A registered key as tests see it. */
export interface ClientKey {
  keyId: string;
  alg: ClientAssertionAlg;
  /** PKCS#8 PEM of the private half, when the emulator made the pair (for tests and the demo). */
  privateKeyPem?: string;
}

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

/** An application (an Auth0 "client"), as GET /api/v2/clients lists it. */
export interface EmulatedClient {
  client_id: string;
  name: string;
  /** false for a third-party application (registered dynamically, or marked so). */
  is_first_party: boolean;
  app_type?: string;
  description?: string;
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

/** One tenant's application, API and data. */
export interface Auth0TenantOptions {
  clientId?: string;
  clientSecret?: string;
  /**
   * The application authenticates with private_key_jwt, with this public key registered (or a
   * pair the emulator makes: see `clientKeys`); its client secret is then refused, as Auth0 does.
   */
  privateKeyJwt?: ClientKeyOptions;
  /**
   * Scopes granted to tokens (default read:connections update:connections read:tenant_settings
   * update:tenant_settings read:clients).
   */
  scopes?: string[];
  tokenExpiresIn?: number;
  /** The Management API bucket; default: not enforced, headers report a generous bucket. */
  rateLimit?: { perSecond: number; burst: number };
  dynamicClientRegistration?: boolean;
  connections?: EmulatedConnection[];
  /** The tenant's applications besides the bot's own (default none). */
  clients?: EmulatedClient[];
}

export interface Auth0EmulatorOptions extends Auth0TenantOptions {
  /**
   * More tenants, by name, each on its own loopback port with its own application, keys,
   * connections, settings, rate bucket and request log. The options above are the default
   * tenant's (named "default").
   */
  tenants?: Record<string, Auth0TenantOptions>;
}

/** One emulated tenant. */
export interface Auth0Tenant {
  /** "default" for the first one. */
  name: string;
  /** http://127.0.0.1:PORT, what AUTH0_DOMAIN gets. */
  url: string;
  /** `${url}/api/v2/` */
  audience: string;
  clientId: string;
  clientSecret: string;
  /** The public keys registered for private_key_jwt (empty: the application uses its secret). */
  readonly clientKeys: readonly ClientKey[];
  /** Registers another public key (Auth0 allows two per application, for rotation). */
  registerClientKey(options: ClientKeyOptions): ClientKey;
  /** No key registered any more: assertions are refused, and the secret is accepted again. */
  removeClientKeys(): void;
  /**
   * The tenant's clock runs this many seconds ahead of this host's (behind when negative), as
   * it judges client assertions: a host whose clock is off sees its assertions refused.
   */
  setClockOffset(seconds: number): void;
  /** Every request, in arrival order, token requests included. */
  requests: Auth0Request[];
  apiRequests(method?: string, pathPrefix?: string): Auth0Request[];
  tokensIssued: number;
  addConnection(c: EmulatedConnection): void;
  connection(id: string): EmulatedConnection | undefined;
  /** Registers another application (a third-party one when `is_first_party` is false). */
  addClient(c: EmulatedClient): void;
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
  /** This tenant back to how it started (its keys too); every jti forgotten. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * The emulator: its default tenant (so a single-tenant test sees one tenant, as before), and
 * the others by name. close() closes them all; reset() resets the default tenant only.
 */
export interface Auth0Emulator extends Auth0Tenant {
  /** The tenant of that name ("default" is this object); throws for an unknown name. */
  tenant(name: string): Auth0Tenant;
  readonly tenantNames: string[];
  /** Starts another tenant on its own port. */
  addTenant(name: string, options?: Auth0TenantOptions): Promise<Auth0Tenant>;
}
