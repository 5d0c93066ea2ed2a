import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Auth0Credential,
  ENV_CREDENTIAL_FIELDS,
  readCredential,
} from "../../src/config-credential.js";

/** A key pair made here, as an application owner would with openssl. */
export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The private key, PKCS#8 PEM: what the key file holds. */
  pem: string;
  /** A run of the PEM's base64 body: no log line or error may contain it. */
  fingerprint: string;
}

function pairOf(privateKey: KeyObject, publicKey: KeyObject): KeyPair {
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const body = pem.split("\n")[2] ?? "";
  return { privateKey, publicKey, pem, fingerprint: body.slice(0, 40) };
}

export function rsaKeyPair(modulusLength = 2048): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength });
  return pairOf(privateKey, publicKey);
}

export function ecKeyPair(namedCurve = "P-256"): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve });
  return pairOf(privateKey, publicKey);
}

/** A temporary directory for key files, readable by this user only; remove() deletes it. */
export function keyDirectory(): { write(name: string, content: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "promote-connection-keys-"));
  return {
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The credential the bot reads from a key file (AUTH0_PRIVATE_KEY_FILE, + _ID, + ALG). */
export function keyFileCredential(
  file: string,
  more: { keyId?: string; alg?: string } = {},
): Auth0Credential {
  const { credential, problems } = readCredential(
    { privateKeyFile: file, privateKeyId: more.keyId, alg: more.alg },
    ENV_CREDENTIAL_FIELDS,
  );
  if (!credential) throw new Error(problems.map((p) => p.text).join("\n"));
  return credential;
}
