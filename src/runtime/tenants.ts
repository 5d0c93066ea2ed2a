import { ConnectionList } from "../auth0/connection-list.js";
import {
  createTransport,
  FleetCache,
  ManagementClient,
  RateLimiter,
  SharedBudget,
  TokenProvider,
} from "../auth0/index.js";
import { TenantSettingsCache } from "../auth0/tenant-settings-cache.js";
import { nameHash } from "../auth0/token-seal.js";
import type { Config, TenantConfig } from "../config.js";
import type { Logger } from "../log.js";
import type { TenantCounters } from "../metrics.js";
import type { RedisClient } from "../redis.js";
import { Tenants } from "../requests/tenants.js";
import type { Shutdown } from "./shutdown.js";

/** One tenant's Management API client and what it shares with the fleet. */
export interface TenantClient {
  settings: TenantConfig;
  /** For approved changes: first in the tenant's budget. */
  auth0: ManagementClient;
  /** For lookups made for people: behind changes, told when Auth0 is busy. */
  lookups: ManagementClient;
  /** Its connections for the request form's type-ahead, listed as lookups, shared for a minute. */
  connections: ConnectionList;
  counters: TenantCounters;
}

/**
 * A Management API client per tenant: one pooled transport for all, and per tenant what every
 * process on this Redis shares: its call budget, one encrypted token, and its settings for a
 * minute. Nothing of one tenant is used for another.
 */
export function createTenantClients(
  config: Config,
  redis: RedisClient,
  logger: Logger,
  shutdown: Shutdown,
): Map<string, TenantClient> {
  const transport = createTransport({ timeoutMs: config.auth0.timeoutMs });
  shutdown.add("auth0 transport", () => transport.close());
  const prefix = config.redis.prefix;
  const clients = new Map<string, TenantClient>();
  for (const tenant of config.tenants) {
    const log = logger.child({ tenant: tenant.name });
    const tokens = new TokenProvider({
      baseUrl: tenant.baseUrl,
      clientId: tenant.clientId,
      credential: tenant.credential,
      audience: tenant.audience,
      transport,
      logger: log,
      timeoutMs: config.auth0.timeoutMs,
      fleet: { redis, prefix, tenant: tenant.name },
    });
    const ceiling = tenant.maxRequestsPerSecond;
    const budget = new SharedBudget({
      redis,
      key: `${prefix}:auth0-budget:${tenant.name}`,
      maxPerSecond: ceiling,
      // While Redis does not answer: a free tenant's pace, or the ceiling.
      fallback: new RateLimiter({ perSecond: ceiling ?? 2 }),
      logger: log,
    });
    const auth0 = new ManagementClient({
      baseUrl: tenant.baseUrl,
      tokens,
      transport,
      limiter: budget,
      tenantSettings: new TenantSettingsCache({
        redis,
        prefix,
        tenant: tenant.name,
        baseUrl: tenant.baseUrl,
        logger: log,
      }),
      // Shown to approvers with each request of the minute: one read, not one per request.
      thirdPartyApps: new FleetCache({
        redis,
        key: `${prefix}:auth0-third-party-apps:${tenant.name}:${nameHash(tenant.baseUrl)}`,
        what: "third-party applications",
        logger: log,
      }),
      logger: log,
    });
    const lookups = auth0.withPriority("lookup");
    clients.set(tenant.name, {
      settings: tenant,
      auth0,
      lookups,
      connections: new ConnectionList({
        redis,
        prefix,
        tenant: tenant.name,
        baseUrl: tenant.baseUrl,
        list: (onPage) => lookups.listConnections({ onPage }),
        logger: log,
      }),
      counters: {
        tenant: tenant.name,
        auth0: countersOf(auth0, tokens),
        budget: budget.stats,
      },
    });
  }
  return clients;
}

function countersOf(auth0: ManagementClient, tokens: TokenProvider) {
  return {
    get apiCalls() {
      return auth0.apiCalls;
    },
    get tokenFetches() {
      return tokens.tokenFetches;
    },
  };
}

/** Each tenant's connection list, for the request form. */
export function connectionLists(clients: Map<string, TenantClient>): Map<string, ConnectionList> {
  return new Map([...clients].map(([name, client]) => [name, client.connections]));
}

/** The tenants as the bot sees them: settings, and a client for lookups. */
export function botTenants(clients: Map<string, TenantClient>): Tenants {
  return new Tenants(
    [...clients.values()].map((c) => ({ settings: c.settings, auth0: c.lookups })),
  );
}
