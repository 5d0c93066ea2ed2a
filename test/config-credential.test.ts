import { generateKeyPairSync } from "node:crypto";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { ecKeyPair, type KeyPair, keyDirectory, rsaKeyPair } from "./support/private-keys.js";

const BASE = {
  SLACK_BOT_TOKEN: "xoxb-1-2-abc",
  SLACK_SIGNING_SECRET: "secret",
  APPROVAL_CHANNEL_ID: "C0APPROVE1",
  AUDIT_CHANNEL_ID: "C0AUDIT001",
  APPROVER_USER_IDS: "U0APPROVE1, U0APPROVE2",
  AUTH0_DOMAIN: "acme.us.auth0.com",
  AUTH0_CLIENT_ID: "client",
};

const keys = keyDirectory();
afterAll(() => keys.remove());

const rsa = rsaKeyPair();
const ec = ecKeyPair();
const rsaFile = keys.write("rsa.pem", rsa.pem);
const ecFile = keys.write("ec.pem", ec.pem);

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("the Auth0 credential: a client secret or a private key file", () => {
  it("a client secret alone, as before", () => {
    const config = loadConfig({ ...BASE, AUTH0_CLIENT_SECRET: "client-secret" });
    expect(config.auth0.credential).toEqual({ kind: "secret", secret: "client-secret" });
  });

  it("a private key file: the algorithm follows the key, or the setting when the key allows several", () => {
    const cases = [
      { file: rsaFile, alg: undefined, expected: "RS256" },
      { file: rsaFile, alg: "PS256", expected: "PS256" },
      { file: rsaFile, alg: "RS384", expected: "RS384" },
      { file: ecFile, alg: undefined, expected: "ES256" },
      { file: ecFile, alg: "ES256", expected: "ES256" },
    ];
    for (const { file, alg, expected } of cases) {
      const config = loadConfig({
        ...BASE,
        AUTH0_CLIENT_SECRET: "",
        AUTH0_PRIVATE_KEY_FILE: file,
        AUTH0_PRIVATE_KEY_ID: "kid-1",
        AUTH0_CLIENT_ASSERTION_ALG: alg,
      });
      expect(config.auth0.credential).toMatchObject({
        kind: "private_key_jwt",
        keyId: "kid-1",
        alg: expected,
      });
    }
    // PKCS#1 ("BEGIN RSA PRIVATE KEY") and SEC1 ("BEGIN EC PRIVATE KEY") files are read too.
    const pkcs1 = keys.write(
      "pkcs1.pem",
      rsa.privateKey.export({ type: "pkcs1", format: "pem" }) as string,
    );
    const sec1 = keys.write(
      "sec1.pem",
      ec.privateKey.export({ type: "sec1", format: "pem" }) as string,
    );
    expect(loadConfig({ ...BASE, AUTH0_PRIVATE_KEY_FILE: pkcs1 }).auth0.credential).toMatchObject({
      alg: "RS256",
    });
    expect(loadConfig({ ...BASE, AUTH0_PRIVATE_KEY_FILE: sec1 }).auth0.credential).toMatchObject({
      alg: "ES256",
    });
  });

  it("exactly one of the two, each mistake one line naming the variable", () => {
    expect(problems({})).toEqual([
      "AUTH0_CLIENT_SECRET is required (the machine-to-machine application's client secret), or set AUTH0_PRIVATE_KEY_FILE for private_key_jwt",
    ]);
    expect(problems({ AUTH0_CLIENT_SECRET: "s", AUTH0_PRIVATE_KEY_FILE: rsaFile })).toEqual([
      "AUTH0_CLIENT_SECRET and AUTH0_PRIVATE_KEY_FILE are both set: set one (a client secret, or a private key for private_key_jwt)",
    ]);
    expect(problems({ AUTH0_CLIENT_SECRET: "s", AUTH0_PRIVATE_KEY_ID: "kid-1" })).toEqual([
      "AUTH0_PRIVATE_KEY_ID has no effect without AUTH0_PRIVATE_KEY_FILE: remove it",
    ]);
    // Reported with the other problems, not instead of them.
    expect(problems({ AUTH0_DOMAIN: "http://acme.us.auth0.com" })).toHaveLength(2);
  });

  it("a key file Auth0 could never accept stops start-up, in words that never show the key", () => {
    const small = rsaKeyPair(1024);
    const p384 = ecKeyPair("P-384");
    const ed = generateKeyPairSync("ed25519").privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    const pss = generateKeyPairSync("rsa-pss", { modulusLength: 2048 }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    const encrypted = rsa.privateKey.export({
      type: "pkcs8",
      format: "pem",
      cipher: "aes-256-cbc",
      passphrase: "correct horse",
    }) as string;
    const publicPem = rsa.publicKey.export({ type: "spki", format: "pem" }) as string;
    const cases: Array<{ file: string; alg?: string; said: RegExp; pair?: KeyPair }> = [
      { file: "/nonexistent/key.pem", said: /names \/nonexistent\/key\.pem, which does not exist/ },
      {
        file: keys.write("dir-is-not-a-file", "").replace(/dir-is-not-a-file$/, ""),
        said: /is a directory/,
      },
      {
        file: keys.write("public.pem", publicPem),
        said: /holds a public key, not the private key/,
      },
      { file: keys.write("encrypted.pem", encrypted), said: /passphrase-protected/ },
      {
        file: keys.write("garbage.pem", `${rsa.pem.slice(0, 200)}garbage`),
        said: /is not a private key in PEM form/,
        pair: rsa,
      },
      {
        file: keys.write("small.pem", small.pem),
        said: /1024-bit RSA key: .* at least 2048 bits/,
        pair: small,
      },
      {
        file: keys.write("p384.pem", p384.pem),
        said: /EC key on secp384r1: ES256 needs P-256/,
        pair: p384,
      },
      { file: keys.write("ed.pem", ed), said: /holds an ed25519 key: use an RSA key/ },
      {
        file: keys.write("pss.pem", pss),
        said: /RSASSA-PSS-only key: .*AUTH0_CLIENT_ASSERTION_ALG=PS256/,
      },
    ];
    for (const { file, alg, said, pair } of cases) {
      const lines = problems({ AUTH0_PRIVATE_KEY_FILE: file, AUTH0_CLIENT_ASSERTION_ALG: alg });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^AUTH0_PRIVATE_KEY_FILE /);
      expect(lines[0]).toMatch(said);
      expect(lines[0]).not.toContain("PRIVATE KEY-----");
      if (pair) expect(lines[0]).not.toContain(pair.fingerprint);
    }
  });

  it("an algorithm the key cannot sign, or none Auth0 knows: AUTH0_CLIENT_ASSERTION_ALG", () => {
    expect(
      problems({ AUTH0_PRIVATE_KEY_FILE: rsaFile, AUTH0_CLIENT_ASSERTION_ALG: "ES256" }),
    ).toEqual([
      "AUTH0_CLIENT_ASSERTION_ALG is ES256, which an RSA key cannot sign: use RS256, RS384, PS256",
    ]);
    expect(
      problems({ AUTH0_PRIVATE_KEY_FILE: ecFile, AUTH0_CLIENT_ASSERTION_ALG: "PS256" }),
    ).toEqual([
      "AUTH0_CLIENT_ASSERTION_ALG is PS256, which an EC P-256 key cannot sign: use ES256",
    ]);
    expect(
      problems({ AUTH0_PRIVATE_KEY_FILE: rsaFile, AUTH0_CLIENT_ASSERTION_ALG: "HS256" }),
    ).toEqual([
      'AUTH0_CLIENT_ASSERTION_ALG must be one of RS256, RS384, PS256, ES256, not "HS256"',
    ]);
  });

  it("the configuration, printed or serialized, shows no key", () => {
    const config = loadConfig({ ...BASE, AUTH0_PRIVATE_KEY_FILE: rsaFile });
    const shown = `${JSON.stringify(config)}\n${inspect(config, { depth: 10 })}`;
    expect(shown).not.toContain(rsa.fingerprint);
    expect(shown).not.toContain("PRIVATE KEY");
  });
});
