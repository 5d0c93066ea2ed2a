import { afterEach, describe, expect, it } from "vitest";
import {
  createTransport,
  ManagementApiError,
  ManagementClient,
  RateLimiter,
  type Transport,
} from "../src/auth0/index.js";
import type { Auth0Credential } from "../src/config-credential.js";
import { tokenProviderFor } from "./support/auth0-client.js";
import {
  type Auth0Emulator,
  type Auth0Tenant,
  type EmulatedConnection,
  startAuth0Emulator,
} from "./support/auth0-emulator.js";
import { ecKeyPair, keyDirectory, keyFileCredential } from "./support/private-keys.js";

const STAGING_DB: EmulatedConnection = {
  id: "con_Staging000000001",
  name: "staging-db",
  display_name: "Staging users",
  strategy: "auth0",
  is_domain_connection: false,
};
const PROD_DB: EmulatedConnection = {
  id: "con_Prod000000000001",
  name: "prod-db",
  display_name: "Customers",
  strategy: "auth0",
  is_domain_connection: false,
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function transport(): Transport {
  const t = createTransport({ timeoutMs: 2000 });
  cleanups.push(() => t.close());
  return t;
}

/** What the bot builds for one tenant: its token provider and Management API client. */
function clientFor(tenant: Auth0Tenant, credential: Auth0Credential) {
  const t = transport();
  const tokens = tokenProviderFor(tenant, t, { credential, timeoutMs: 2000 });
  const limiter = new RateLimiter({ perSecond: 1000 });
  return new ManagementClient({ baseUrl: tenant.url, tokens, transport: t, limiter });
}

async function twoTenants(): Promise<{ auth0: Auth0Emulator; prod: Auth0Tenant; keyFile: string }> {
  const keys = keyDirectory();
  cleanups.push(() => keys.remove());
  const pair = ecKeyPair();
  const auth0 = await startAuth0Emulator({
    connections: [structuredClone(STAGING_DB)],
    tenants: {
      prod: {
        connections: [structuredClone(PROD_DB)],
        privateKeyJwt: { publicKey: pair.publicKey, alg: "ES256", keyId: "prod-kid" },
      },
    },
  });
  cleanups.push(() => auth0.close());
  return { auth0, prod: auth0.tenant("prod"), keyFile: keys.write("prod.pem", pair.pem) };
}

describe("one Auth0 emulator, two tenants", () => {
  it("each has its own URL, application, connections and token count", async () => {
    const { auth0, prod, keyFile } = await twoTenants();
    expect(auth0.tenantNames).toEqual(["default", "prod"]);
    expect(auth0.tenant("default")).toBe(auth0);
    expect(prod.name).toBe("prod");
    expect(prod.url).not.toBe(auth0.url);
    expect(prod.audience).toBe(`${prod.url}/api/v2/`);
    expect(prod.clientId).not.toBe(auth0.clientId);
    expect(prod.clientSecret).not.toBe(auth0.clientSecret);

    const staging = clientFor(auth0, { kind: "secret", secret: auth0.clientSecret });
    const production = clientFor(prod, keyFileCredential(keyFile, { keyId: "prod-kid" }));

    const promoted = await production.setDomainLevel(
      await production.getConnection(PROD_DB.id),
      true,
    );
    expect(promoted.is_domain_connection).toBe(true);
    expect(prod.connection(PROD_DB.id)?.is_domain_connection).toBe(true);
    expect(await staging.getConnection(STAGING_DB.id)).toMatchObject({
      is_domain_connection: false,
    });

    // Neither tenant knows the other's connection.
    for (const [client, id] of [
      [staging, PROD_DB.id],
      [production, STAGING_DB.id],
    ] as const) {
      const err = await client.getConnection(id).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ManagementApiError);
      expect(err).toMatchObject({ status: 404 });
    }
    expect(auth0.connection(PROD_DB.id)).toBeUndefined();

    expect(auth0.tokensIssued).toBe(1);
    expect(prod.tokensIssued).toBe(1);
    expect(prod.apiRequests("PATCH")).toHaveLength(1);
    expect(auth0.apiRequests("PATCH")).toHaveLength(0);
  });

  it("a token, a secret or a key of one tenant opens nothing at the other", async () => {
    const { auth0, prod, keyFile } = await twoTenants();
    const staging = clientFor(auth0, { kind: "secret", secret: auth0.clientSecret });
    await staging.getConnection(STAGING_DB.id);
    const stagingToken = auth0.apiRequests("GET")[0]?.token;

    const res = await fetch(`${prod.url}/api/v2/connections/${PROD_DB.id}`, {
      headers: { authorization: `Bearer ${stagingToken}` },
    });
    expect(res.status).toBe(401);
    await res.body?.cancel();

    const wrongSecret = clientFor(prod, { kind: "secret", secret: auth0.clientSecret });
    await expect(wrongSecret.getConnection(PROD_DB.id)).rejects.toMatchObject({
      reason: "invalid_client",
    });
    // The default tenant's application has no key registered: prod's key is refused there.
    await expect(
      clientFor(auth0, keyFileCredential(keyFile)).getConnection(STAGING_DB.id),
    ).rejects.toMatchObject({
      reason: "client_assertion_key_rejected",
    });
    expect(prod.tokensIssued).toBe(0);
  });

  it("rate buckets, settings and faults are each tenant's own", async () => {
    const { auth0, prod, keyFile } = await twoTenants();
    prod.setRateLimit({ perSecond: 0.001, burst: 1 });
    prod.setDynamicClientRegistration(false);
    auth0.injectFault({ kind: "status", status: 503, path: "/api/v2/tenants/settings" });
    const production = clientFor(prod, keyFileCredential(keyFile, { keyId: "prod-kid" }));
    const staging = clientFor(auth0, { kind: "secret", secret: auth0.clientSecret });

    expect((await production.getTenantSettings()).flags?.enable_dynamic_client_registration).toBe(
      false,
    );
    const second = await fetch(`${prod.url}/api/v2/tenants/settings`, {
      headers: { authorization: `Bearer ${prod.apiRequests()[0]?.token}` },
    });
    expect(second.status).toBe(429);
    await second.body?.cancel();

    await expect(staging.getTenantSettings()).rejects.toMatchObject({ status: 503 });
    expect((await staging.getTenantSettings()).flags?.enable_dynamic_client_registration).toBe(
      true,
    );
  });

  it("a tenant added later runs beside the others; close() stops them all", async () => {
    const { auth0, prod } = await twoTenants();
    const eu = await auth0.addTenant("eu", { connections: [structuredClone(STAGING_DB)] });
    expect(auth0.tenantNames).toEqual(["default", "prod", "eu"]);
    expect(new Set([auth0.url, prod.url, eu.url]).size).toBe(3);
    await expect(auth0.addTenant("eu")).rejects.toThrow(/already runs/);
    expect(() => auth0.tenant("us")).toThrow(/no tenant named us/);

    await auth0.close();
    for (const url of [auth0.url, prod.url, eu.url]) {
      await expect(fetch(`${url}/.well-known/openid-configuration`)).rejects.toThrow();
    }
  });
});
