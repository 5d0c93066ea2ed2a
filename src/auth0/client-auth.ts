import { webcrypto } from "node:crypto";
import * as oidc from "openid-client";
import type { Auth0Credential, ClientAssertionAlg } from "../config-credential.js";
import type { ClientCredential } from "./token-seal.js";

/**
 * How the token request proves the application: client_secret_post, or private_key_jwt, where
 * openid-client signs a fresh assertion for each request (a new `jti`, `exp` a minute ahead,
 * `aud` the issuer `https://{domain}/`, `iss` = `sub` = the client id), as Auth0 requires.
 */

/** WebCrypto's name for each JWS algorithm; openid-client reads the JWS `alg` back from it. */
const WEBCRYPTO: Record<
  ClientAssertionAlg,
  webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams
> = {
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  RS384: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" },
  PS256: { name: "RSA-PSS", hash: "SHA-256" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
};

export async function clientAuthentication(credential: Auth0Credential): Promise<oidc.ClientAuth> {
  if (credential.kind === "secret") return oidc.ClientSecretPost(credential.secret);
  const der = credential.key.export({ format: "der", type: "pkcs8" });
  // Not extractable: the CryptoKey can sign and nothing else.
  const key = await webcrypto.subtle.importKey("pkcs8", der, WEBCRYPTO[credential.alg], false, [
    "sign",
  ]);
  return oidc.PrivateKeyJwt({ key, kid: credential.keyId });
}

/** What the shared token cache derives its key from. */
export function sealingCredential(credential: Auth0Credential): ClientCredential {
  return credential.kind === "secret"
    ? { clientSecret: credential.secret }
    : { privateKey: credential.key, keyId: credential.keyId };
}

/** "a client secret", "a private key (PS256, kid abc)": for lines that say what was used. */
export function describeCredential(credential: Auth0Credential): string {
  if (credential.kind === "secret") return "a client secret";
  const kid = credential.keyId ? `, kid ${credential.keyId}` : "";
  return `a private key (private_key_jwt, ${credential.alg}${kid})`;
}
