/**
 * An emulated Auth0: one or more tenants (tenant.ts), each on its own loopback port, so each
 * has its own base URL (what AUTH0_DOMAIN, or a tenant's domain, gets) and its own application,
 * keys, connections, settings, rate bucket and request log. The object returned is the default
 * tenant, so a test of one tenant sees what it always saw; `tenant(name)` reaches the others.
 * Used by the tests, `npm run demo` and `npm run bench`; the bot itself never imports it.
 */
import { startTenant } from "./tenant.js";
import type {
  Auth0Emulator,
  Auth0EmulatorOptions,
  Auth0Tenant,
  Auth0TenantOptions,
} from "./types.js";

export type * from "./types.js";

export const DEFAULT_TENANT_NAME = "default";

/** The default tenant's application keeps the names tests have always used. */
function defaultsFor(name: string): { clientId: string; clientSecret: string } {
  return name === DEFAULT_TENANT_NAME
    ? { clientId: "test-client", clientSecret: "test-secret" }
    : { clientId: `test-client-${name}`, clientSecret: `test-secret-${name}` };
}

export async function startAuth0Emulator(
  options: Auth0EmulatorOptions = {},
): Promise<Auth0Emulator> {
  const { tenants: more = {}, ...own } = options;
  const tenants = new Map<string, Auth0Tenant>();
  const start = async (name: string, opts: Auth0TenantOptions): Promise<Auth0Tenant> => {
    if (tenants.has(name)) throw new Error(`auth0 emulator: a tenant named ${name} already runs`);
    const tenant = await startTenant(name, opts, defaultsFor(name));
    tenants.set(name, tenant);
    return tenant;
  };

  const main = await start(DEFAULT_TENANT_NAME, own);
  try {
    for (const [name, opts] of Object.entries(more)) await start(name, opts);
  } catch (err) {
    await Promise.all([...tenants.values()].map((t) => t.close()));
    throw err;
  }

  const closeOne = main.close;
  // The default tenant's own object, with the others reachable from it: every method and
  // getter a single-tenant test uses stays exactly the default tenant's.
  Object.defineProperty(main, "tenantNames", { get: () => [...tenants.keys()], enumerable: true });
  return Object.assign(main as Auth0Tenant & Pick<Auth0Emulator, "tenantNames">, {
    tenant(name: string): Auth0Tenant {
      const found = tenants.get(name);
      if (!found) {
        throw new Error(
          `auth0 emulator: no tenant named ${name} (there are: ${[...tenants.keys()].join(", ")})`,
        );
      }
      return found;
    },
    addTenant: (name: string, opts: Auth0TenantOptions = {}) => start(name, opts),
    async close() {
      const others = [...tenants.values()].filter((t) => t !== main);
      await Promise.all([closeOne(), ...others.map((t) => t.close())]);
    },
  });
}
