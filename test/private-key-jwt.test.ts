import { randomUUID, webcrypto } from "node:crypto";
import * as oidc from "openid-client";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createTransport, TokenRequestError, type Transport } from "../src/auth0/index.js";
import type { Auth0Credential, ClientAssertionAlg } from "../src/config-credential.js";
import {
  capturedLogger,
  rejection,
  tokenProviderFor,
  tokenRequests,
} from "./support/auth0-client.js";
import {
  type Auth0Emulator,
  type Auth0EmulatorOptions,
  type Auth0Tenant,
  startAuth0Emulator,
} from "./support/auth0-emulator.js";
import {
  ecKeyPair,
  type KeyPair,
  keyDirectory,
  keyFileCredential,
  rsaKeyPair,
} from "./support/private-keys.js";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const keys = keyDirectory();
afterAll(() => keys.remove());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function emulator(options: Auth0EmulatorOptions): Promise<Auth0Emulator> {
  const auth0 = await startAuth0Emulator(options);
  cleanups.push(() => auth0.close());
  return auth0;
}

function transport(): Transport {
  const t = createTransport({ timeoutMs: 2000 });
  cleanups.push(() => t.close());
  return t;
}

/** A key file holding `pair`, read as the bot reads AUTH0_PRIVATE_KEY_FILE. */
function credentialOf(pair: KeyPair, more: { keyId?: string; alg?: string } = {}): Auth0Credential {
  return keyFileCredential(keys.write(`${randomUUID()}.pem`, pair.pem), more);
}

function provider(
  auth0: Auth0Tenant,
  credential: Auth0Credential,
  logger = capturedLogger().logger,
) {
  return tokenProviderFor(auth0, transport(), { credential, logger, timeoutMs: 2000 });
}

function decode(segment: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment ?? "", "base64url").toString("utf8"));
}

/** The assertion a token request carried, decoded. */
function assertionOf(body: unknown): {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
} {
  const [header, claims] = String((body as Record<string, unknown>).client_assertion).split(".");
  return { header: decode(header), claims: decode(claims) };
}

describe("a token by private_key_jwt", () => {
  const cases: Array<{ alg: ClientAssertionAlg; pair: () => KeyPair; setting?: string }> = [
    { alg: "RS256", pair: () => rsaKeyPair() },
    { alg: "RS384", pair: () => rsaKeyPair(), setting: "RS384" },
    { alg: "PS256", pair: () => rsaKeyPair(3072), setting: "PS256" },
    { alg: "ES256", pair: () => ecKeyPair() },
  ];

  it.each(cases)(
    "$alg: a fresh assertion per request, as Auth0 requires, and no secret sent",
    async ({ alg, pair: makePair, setting }) => {
      const pair = makePair();
      const auth0 = await emulator({
        privateKeyJwt: { publicKey: pair.publicKey, alg, keyId: `kid-${alg}` },
      });
      const credential = credentialOf(pair, { keyId: `kid-${alg}`, alg: setting });
      expect(credential).toMatchObject({ kind: "private_key_jwt", alg });
      const tokens = provider(auth0, credential);

      const first = await tokens.getToken();
      tokens.invalidate(first);
      const second = await tokens.getToken();
      expect(second).not.toBe(first);
      expect(auth0.tokensIssued).toBe(2);

      const sent = tokenRequests(auth0);
      expect(sent.map((r) => r.status)).toEqual([200, 200]);
      for (const request of sent) {
        const body = request.body as Record<string, string>;
        expect(body).toMatchObject({
          grant_type: "client_credentials",
          client_id: auth0.clientId,
          client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          audience: auth0.audience,
        });
        expect(body).not.toHaveProperty("client_secret");
        expect(request.headers.authorization).toBeUndefined();
        const { header, claims } = assertionOf(body);
        expect(header).toMatchObject({ alg, kid: `kid-${alg}` });
        expect(claims).toMatchObject({
          iss: auth0.clientId,
          sub: auth0.clientId,
          aud: `${auth0.url}/`,
        });
        const { exp, iat } = claims as { exp: number; iat: number };
        expect(exp - iat).toBeGreaterThan(0);
        expect(exp - iat).toBeLessThanOrEqual(120);
      }
      const jtis = sent.map((r) => assertionOf(r.body).claims.jti);
      expect(new Set(jtis).size).toBe(2);
    },
  );

  it("without a key id the header names none, and the registered key still verifies it", async () => {
    const pair = ecKeyPair();
    const auth0 = await emulator({ privateKeyJwt: { publicKey: pair.publicKey, alg: "ES256" } });
    await provider(auth0, credentialOf(pair)).getToken();
    expect(assertionOf(tokenRequests(auth0)[0]?.body).header).not.toHaveProperty("kid");
    expect(auth0.tokensIssued).toBe(1);
  });
});

describe("each refusal is typed, says what to do, and never shows the key", () => {
  it("a key that is not registered, a kid Auth0 does not know, no key at all: client_assertion_key_rejected", async () => {
    const registered = rsaKeyPair();
    const other = rsaKeyPair();
    const auth0 = await emulator({
      privateKeyJwt: { publicKey: registered.publicKey, keyId: "kid-current" },
    });
    const { logger, logs } = capturedLogger();
    const attempts = [
      { pair: other, keyId: undefined, said: /signature/ },
      { pair: registered, keyId: "kid-retired", said: /kid 'kid-retired'/ },
    ];
    for (const { pair, keyId, said } of attempts) {
      const err = await rejection(
        provider(auth0, credentialOf(pair, { keyId }), logger).getToken(),
      );
      expect(err).toBeInstanceOf(TokenRequestError);
      expect(err).toMatchObject({
        reason: "client_assertion_key_rejected",
        retryable: false,
        status: 401,
      });
      const { message } = err as TokenRequestError;
      expect(message).toMatch(said);
      expect(message).toContain("the application's credentials must hold its public key");
      expect(message).toContain("AUTH0_PRIVATE_KEY_FILE");
    }
    auth0.removeClientKeys();
    const none = await rejection(provider(auth0, credentialOf(registered), logger).getToken());
    expect(none).toMatchObject({ reason: "client_assertion_key_rejected" });
    expect(auth0.tokensIssued).toBe(0);

    const shown = logs.join("\n");
    for (const pair of [registered, other]) expect(shown).not.toContain(pair.fingerprint);
  });

  it("a host whose clock is 10 minutes behind Auth0's: client_assertion_claims_rejected, check the clock", async () => {
    const pair = rsaKeyPair();
    const auth0 = await emulator({ privateKeyJwt: { publicKey: pair.publicKey } });
    auth0.setClockOffset(600);
    const err = await rejection(provider(auth0, credentialOf(pair)).getToken());
    expect(err).toMatchObject({ reason: "client_assertion_claims_rejected", retryable: false });
    expect((err as Error).message).toMatch(/expired.*check this host's clock/);
    auth0.setClockOffset(0);
    await provider(auth0, credentialOf(pair)).getToken();
    expect(auth0.tokensIssued).toBe(1);
  });

  it("a client id Auth0 does not know: invalid_client, naming the client id and the key", async () => {
    const pair = rsaKeyPair();
    const auth0 = await emulator({ privateKeyJwt: { publicKey: pair.publicKey } });
    const tokens = tokenProviderFor(auth0, transport(), {
      clientId: "not-this-tenants-client",
      credential: credentialOf(pair),
    });
    const err = await rejection(tokens.getToken());
    expect(err).toMatchObject({ reason: "invalid_client", status: 401 });
    expect((err as Error).message).toMatch(
      /AUTH0_CLIENT_ID.*Private Key JWT.*AUTH0_PRIVATE_KEY_FILE/,
    );
  });

  it("an application that uses private_key_jwt refuses its client secret: invalid_client", async () => {
    const auth0 = await emulator({ privateKeyJwt: { alg: "PS256" } });
    const err = await rejection(
      provider(auth0, { kind: "secret", secret: auth0.clientSecret }).getToken(),
    );
    expect(err).toMatchObject({ reason: "invalid_client" });
    expect((err as Error).message).toContain("AUTH0_CLIENT_SECRET");
  });

  it("no log line, error or stack holds the key or an assertion", async () => {
    const pair = rsaKeyPair();
    const auth0 = await emulator({ privateKeyJwt: { publicKey: pair.publicKey, keyId: "kid-1" } });
    const { logger, logs } = capturedLogger("trace");
    const credential = credentialOf(pair, { keyId: "kid-1" });
    const tokens = provider(auth0, credential, logger);
    await tokens.getToken();
    auth0.setClockOffset(-3600);
    tokens.invalidate(await tokens.getToken());
    const err = await rejection(tokens.getToken());
    logger.error({ err, credential }, "token failed");

    const assertions = tokenRequests(auth0).map((r) =>
      String((r.body as Record<string, string>).client_assertion),
    );
    expect(assertions).toHaveLength(2);
    const e = err as TokenRequestError;
    const everything = [
      ...logs,
      e.message,
      e.stack ?? "",
      String(e.description),
      JSON.stringify(e),
      JSON.stringify(credential),
    ].join("\n");
    expect(everything).toContain("token failed");
    expect(everything).not.toContain(pair.fingerprint);
    expect(everything).not.toContain("PRIVATE KEY");
    for (const assertion of assertions) {
      expect(everything).not.toContain(assertion);
      expect(everything).not.toContain(assertion.split(".")[2]);
    }
  });
});

/**
 * The emulator's checks, each met with the one assertion that breaks it, signed by openid-client
 * itself (its modifyAssertion hook), so the rest of the assertion is what the bot sends.
 */
describe("the emulator verifies every client assertion as Auth0 does", () => {
  const registered = rsaKeyPair();
  const other = rsaKeyPair();

  async function signingKey(pair: KeyPair, alg: "RS256" | "PS256" = "RS256") {
    const params =
      alg === "RS256"
        ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
        : { name: "RSA-PSS", hash: "SHA-256" };
    const der = pair.privateKey.export({ format: "der", type: "pkcs8" });
    return webcrypto.subtle.importKey("pkcs8", der, params, false, ["sign"]);
  }

  /** One token request with an assertion `modify` has changed; Auth0's answer. */
  async function tokenRequest(
    auth0: Auth0Emulator,
    opts: {
      pair?: KeyPair;
      alg?: "RS256" | "PS256";
      kid?: string;
      modify?: (header: Record<string, unknown>, claims: Record<string, unknown>) => void;
    } = {},
  ): Promise<{ status: number; error?: string; description?: string }> {
    const key = await signingKey(opts.pair ?? registered, opts.alg);
    const auth = oidc.PrivateKeyJwt(
      { key, kid: opts.kid ?? "kid-1" },
      { [oidc.modifyAssertion]: (h, c) => opts.modify?.(h as never, c as never) },
    );
    const config = await oidc.discovery(new URL(auth0.url), auth0.clientId, undefined, auth, {
      execute: [oidc.allowInsecureRequests],
      [oidc.customFetch]: transport().fetch,
    });
    try {
      await oidc.clientCredentialsGrant(config, { audience: auth0.audience });
      return { status: 200 };
    } catch (err) {
      if (!(err instanceof oidc.ResponseBodyError)) throw err;
      return { status: err.status, error: err.error, description: err.error_description };
    }
  }

  const now = () => Math.floor(Date.now() / 1000);
  const refusals: Array<{
    story: string;
    request: Parameters<typeof tokenRequest>[1];
    described: RegExp;
  }> = [
    { story: "signed by another key", request: { pair: other }, described: /signature/ },
    { story: "a kid not registered", request: { kid: "kid-2" }, described: /kid 'kid-2'/ },
    {
      story: "another algorithm than the credential's",
      request: { alg: "PS256" },
      described: /alg 'PS256'/,
    },
    {
      story: "iss not the client id",
      request: { modify: (_h, c) => Object.assign(c, { iss: "someone-else" }) },
      described: /'iss' and 'sub'/,
    },
    {
      story: "sub not the client id",
      request: { modify: (_h, c) => Object.assign(c, { sub: "someone-else" }) },
      described: /'iss' and 'sub'/,
    },
    {
      story: "aud another tenant",
      request: { modify: (_h, c) => Object.assign(c, { aud: "https://other.eu.auth0.com/" }) },
      described: /'aud' claim must be/,
    },
    {
      story: "expired",
      request: {
        modify: (_h, c) => Object.assign(c, { iat: now() - 90, nbf: now() - 90, exp: now() - 30 }),
      },
      described: /expired/,
    },
    {
      story: "valid for an hour",
      request: { modify: (_h, c) => Object.assign(c, { exp: now() + 3600 }) },
      described: /no more than 5 minutes after 'iat'/,
    },
    {
      story: "issued in the future",
      request: { modify: (_h, c) => Object.assign(c, { iat: now() + 120, exp: now() + 150 }) },
      described: /'iat' claim is in the future/,
    },
    {
      story: "not valid before two minutes from now",
      request: { modify: (_h, c) => Object.assign(c, { nbf: now() + 120, exp: now() + 150 }) },
      described: /'nbf' claim is in the future/,
    },
    {
      story: "without a jti",
      request: { modify: (_h, c) => delete c.jti },
      described: /'jti' claim is required/,
    },
  ];

  async function keyedEmulator() {
    return emulator({ privateKeyJwt: { publicKey: registered.publicKey, keyId: "kid-1" } });
  }

  it.each(refusals)(
    "refused: $story (401 invalid_client, in Auth0's shape)",
    async ({ request, described }) => {
      const auth0 = await keyedEmulator();
      const answer = await tokenRequest(auth0, request);
      expect(answer).toMatchObject({ status: 401, error: "invalid_client" });
      expect(answer.description).toMatch(described);
      expect(auth0.tokensIssued).toBe(0);
      // The same request, unbroken, is accepted: the refusal was for that one thing.
      expect(await tokenRequest(auth0)).toEqual({ status: 200 });
    },
  );

  it("a jti is good for one request: the same one again is refused", async () => {
    const auth0 = await keyedEmulator();
    const jti = randomUUID();
    const once = { modify: (_h: unknown, c: Record<string, unknown>) => Object.assign(c, { jti }) };
    expect(await tokenRequest(auth0, once)).toEqual({ status: 200 });
    const again = await tokenRequest(auth0, once);
    expect(again).toMatchObject({ status: 401, error: "invalid_client" });
    expect(again.description).toMatch(/'jti' claim has already been used/);
    expect(auth0.tokensIssued).toBe(1);
  });

  it("an assertion for another client, a wrong assertion type, a secret beside it: refused", async () => {
    const auth0 = await keyedEmulator();
    const stranger = await tokenRequest(auth0, {
      modify: (_h, c) => Object.assign(c, { iss: "stranger", sub: "stranger" }),
    });
    expect(stranger).toMatchObject({ status: 401, error: "invalid_client" });
    const post = async (form: Record<string, string>) => {
      const res = await fetch(`${auth0.url}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          audience: auth0.audience,
          client_assertion: "e30.e30.c2ln",
          ...form,
        }),
      });
      return { status: res.status, body: await res.json() };
    };
    expect(await post({ client_id: "stranger", client_assertion_type: JWT_BEARER })).toEqual({
      status: 401,
      body: { error: "access_denied", error_description: "Unauthorized" },
    });
    const wrongType = await post({ client_id: auth0.clientId, client_assertion_type: "jwt" });
    expect(wrongType).toMatchObject({ status: 400, body: { error: "invalid_request" } });
    const both = await post({
      client_id: auth0.clientId,
      client_assertion_type: JWT_BEARER,
      client_secret: auth0.clientSecret,
    });
    expect(both).toMatchObject({ status: 400, body: { error: "invalid_request" } });
    expect(auth0.tokensIssued).toBe(0);
  });

  it("accepts the token endpoint as aud too, and an assertion without a kid", async () => {
    const auth0 = await keyedEmulator();
    const toEndpoint = (_h: unknown, c: Record<string, unknown>) =>
      Object.assign(c, { aud: `${auth0.url}/oauth/token` });
    expect(await tokenRequest(auth0, { modify: toEndpoint })).toEqual({ status: 200 });
    const noKid = (h: Record<string, unknown>) => delete h.kid;
    expect(await tokenRequest(auth0, { modify: noKid })).toEqual({ status: 200 });
  });

  it("discovery advertises private_key_jwt; with no key registered an assertion is refused", async () => {
    const auth0 = await emulator({});
    const discovery = (await (
      await fetch(`${auth0.url}/.well-known/openid-configuration`)
    ).json()) as {
      token_endpoint_auth_methods_supported: string[];
    };
    expect(discovery.token_endpoint_auth_methods_supported).toContain("private_key_jwt");
    const answer = await tokenRequest(auth0);
    expect(answer).toMatchObject({ status: 401, error: "invalid_client" });
    expect(answer.description).toMatch(/no credential/);
    auth0.registerClientKey({ publicKey: registered.publicKey, keyId: "kid-1" });
    expect(await tokenRequest(auth0)).toEqual({ status: 200 });
  });

  it("a key the emulator makes: its private half is handed out, and works", async () => {
    const auth0 = await emulator({ privateKeyJwt: { alg: "ES256" } });
    const [made] = auth0.clientKeys;
    expect(made).toMatchObject({ alg: "ES256" });
    const file = keys.write("made.pem", made?.privateKeyPem ?? "");
    await provider(auth0, keyFileCredential(file, { keyId: made?.keyId })).getToken();
    expect(auth0.tokensIssued).toBe(1);
  });
});
