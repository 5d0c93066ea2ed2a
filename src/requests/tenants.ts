import type { TenantConfig } from "../config-tenants.js";
import type { ManagementApi } from "./changes/types.js";

/** A tenant the bot serves: its settings, and the Management API calls it may make there. */
export interface Tenant {
  settings: TenantConfig;
  auth0: ManagementApi;
}

/** "prod (acme.us.auth0.com)": how messages name a tenant, so nobody mistakes prod for dev. */
export function tenantLabel(name: string, domain: string | undefined): string {
  return domain ? `${name} (${domain})` : name;
}

/** The tenants, by name, in the order they were configured. */
export class Tenants {
  private readonly byName: Map<string, Tenant>;

  constructor(tenants: readonly Tenant[]) {
    this.byName = new Map(tenants.map((t) => [t.settings.name, t]));
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  get(name: string): Tenant | undefined {
    return this.byName.get(name);
  }

  /** The tenant, when there is only one: then commands need not name it. */
  get only(): Tenant | undefined {
    return this.byName.size === 1 ? [...this.byName.values()][0] : undefined;
  }
}
