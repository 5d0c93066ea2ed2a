/**
 * private_key_jwt at the emulated token endpoint (RFC 7523 client authentication): the public
 * keys registered with the application (Auth0's "credentials", each with the kid and algorithm
 * Auth0 gave it), and the checks Auth0 documents for a client assertion: a signature by a
 * registered key in that key's algorithm, `iss` = `sub` = the client id, `aud` the tenant's URL
 * (`https://{domain}/`, or its token endpoint), an `exp` in the future and at most 5 minutes
 * after `iat`, `iat`/`nbf` not ahead by more than 10 s, and a `jti` never seen before.
 * Refusals are Auth0's shape, 401 `{error: "invalid_client", error_description}`; the wording
 * of each description is the emulator's own (Auth0 does not document it).
 */
import {
  constants,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  verify,
} from "node:crypto";
import type { Answer } from "./errors.js";
import type { ClientAssertionAlg, ClientKey, ClientKeyOptions } from "./types.js";

export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** Auth0 allows this much clock skew on `iat` and `nbf`. */
const SKEW_SEC = 10;
/** Auth0's longest client assertion lifetime. */
const MAX_LIFETIME_SEC = 300;
const MAX_JTI_LENGTH = 64;

interface RegisteredKey extends ClientKey {
  publicKey: KeyObject;
}

const refuse = (description: string): Answer => [
  401,
  { error: "invalid_client", error_description: description },
];

/** The key type each algorithm needs: what Auth0 checks when a credential is added. */
function checkKeyFits(publicKey: KeyObject, alg: ClientAssertionAlg): void {
  const type = publicKey.asymmetricKeyType;
  const fits =
    alg === "ES256"
      ? type === "ec" && publicKey.asymmetricKeyDetails?.namedCurve === "prime256v1"
      : type === "rsa" && (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
  if (!fits) throw new Error(`auth0 emulator: a ${type} key cannot be registered for ${alg}`);
}

function signatureValid(key: RegisteredKey, signingInput: string, signature: Buffer): boolean {
  const data = Buffer.from(signingInput);
  switch (key.alg) {
    case "RS256":
      return verify("sha256", data, key.publicKey, signature);
    case "RS384":
      return verify("sha384", data, key.publicKey, signature);
    case "PS256":
      return verify(
        "sha256",
        data,
        { key: key.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      );
    case "ES256":
      return verify("sha256", data, { key: key.publicKey, dsaEncoding: "ieee-p1363" }, signature);
  }
}

function decodeSegment(segment: string | undefined): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment ?? "", "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const UNKNOWN_CLIENT: Answer = [401, { error: "access_denied", error_description: "Unauthorized" }];

/** Whether a registered key, named by `kid` if the header has one, in its algorithm, signed it. */
function signatureRefusal(
  keys: RegisteredKey[],
  header: Record<string, unknown>,
  [encodedHeader, encodedClaims, encodedSignature]: [string, string, string],
): Answer | undefined {
  if (keys.length === 0) {
    return refuse(
      "The client has no credential to verify a client_assertion: register its public key",
    );
  }
  const { alg, kid } = header;
  let candidates = keys;
  if (kid !== undefined) {
    candidates = keys.filter((k) => k.keyId === kid);
    if (candidates.length === 0) {
      return refuse(`No credential with kid '${String(kid)}' is registered for the client`);
    }
  }
  candidates = candidates.filter((k) => k.alg === alg);
  if (candidates.length === 0) {
    const registered = [...new Set(keys.map((k) => k.alg))].join(", ");
    return refuse(
      `The client_assertion alg '${String(alg)}' does not match the credential's (${registered})`,
    );
  }
  const signingInput = `${encodedHeader}.${encodedClaims}`;
  const signature = Buffer.from(encodedSignature, "base64url");
  if (!candidates.some((k) => signatureValid(k, signingInput, signature))) {
    return refuse("Invalid client_assertion signature");
  }
  return undefined;
}

/** Who it names, for whom, and when: everything but whether its jti was seen. */
function claimsRefusal(
  claims: Record<string, unknown>,
  clientId: string,
  audiences: string[],
  now: number,
): Answer | undefined {
  const { iss, sub, aud, exp, iat, nbf, jti } = claims;
  if (iss !== clientId || sub !== clientId) {
    return refuse("'iss' and 'sub' claims must both be the client id");
  }
  const named = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (!named.some((a) => audiences.includes(a))) {
    return refuse(`'aud' claim must be ${audiences.join(" or ")}`);
  }
  if (typeof exp !== "number") return refuse("'exp' claim is required");
  if (exp <= now) return refuse("'exp' claim is in the past: the client_assertion has expired");
  if (exp - (typeof iat === "number" ? iat : now) > MAX_LIFETIME_SEC) {
    return refuse("'exp' claim must specify a time that is no more than 5 minutes after 'iat'");
  }
  if (typeof iat === "number" && iat > now + SKEW_SEC) {
    return refuse("'iat' claim is in the future");
  }
  if (typeof nbf === "number" && nbf > now + SKEW_SEC) {
    return refuse("'nbf' claim is in the future");
  }
  if (typeof jti !== "string" || jti === "" || jti.length > MAX_JTI_LENGTH) {
    return refuse(`'jti' claim is required: a unique id of at most ${MAX_JTI_LENGTH} characters`);
  }
  return undefined;
}

export interface ClientAssertions {
  /** Public details of the registered keys (and the private key PEM of one the emulator made). */
  readonly keys: readonly ClientKey[];
  /** Registers a public key (or makes a key pair when none is given); returns its details. */
  register(options: ClientKeyOptions): ClientKey;
  removeAll(): void;
  /**
   * Undefined when `assertion` authenticates the client, else the refusal. `clientIdParam` is the
   * form's client_id, if sent. `audiences` are the `aud` values the tenant accepts.
   */
  verify(
    assertion: unknown,
    clientIdParam: string | undefined,
    audiences: string[],
  ): Answer | undefined;
  /** Back to the keys it started with; every jti forgotten. */
  reset(): void;
}

/** `clock`: the tenant's time, epoch ms (a test may set it apart from this host's). */
export function clientAssertions(
  clientId: string,
  initial: ClientKeyOptions | undefined,
  clock: () => number,
): ClientAssertions {
  let keys: RegisteredKey[] = [];
  /** jti → when it may be forgotten (epoch ms): after that its assertion has expired anyway. */
  const seen = new Map<string, number>();

  const register = (options: ClientKeyOptions): ClientKey => {
    const alg = options.alg ?? "RS256";
    let publicKey: KeyObject;
    let privateKeyPem: string | undefined;
    if (options.publicKey === undefined) {
      const pair =
        alg === "ES256"
          ? generateKeyPairSync("ec", { namedCurve: "P-256" })
          : generateKeyPairSync("rsa", { modulusLength: 2048 });
      publicKey = pair.publicKey;
      privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    } else {
      // A private key given by mistake yields its public half, as Auth0 would only ever see.
      const given = options.publicKey;
      publicKey =
        typeof given !== "string" && given.type === "public" ? given : createPublicKey(given);
    }
    checkKeyFits(publicKey, alg);
    const keyId = options.keyId ?? randomBytes(24).toString("base64url");
    keys.push({ keyId, alg, publicKey, ...(privateKeyPem ? { privateKeyPem } : {}) });
    return { keyId, alg, ...(privateKeyPem ? { privateKeyPem } : {}) };
  };

  const start = () => {
    keys = [];
    seen.clear();
    if (initial) register(initial);
  };
  start();

  return {
    get keys() {
      return keys.map(({ publicKey: _, ...details }) => details);
    },
    register,
    removeAll() {
      keys = [];
    },
    reset: start,
    verify(assertion, clientIdParam, audiences) {
      const parts = typeof assertion === "string" ? assertion.split(".") : [];
      const header = decodeSegment(parts[0]);
      const claims = decodeSegment(parts[1]);
      if (parts.length !== 3 || !header || !claims || !parts[2]) {
        return refuse("client_assertion must be a JWS-signed JWT");
      }
      // Whose assertion it is: the form's client_id, else the issuer it claims.
      if ((clientIdParam ?? claims.iss) !== clientId) return UNKNOWN_CLIENT;
      const nowMs = clock();
      const refused =
        signatureRefusal(keys, header, parts as [string, string, string]) ??
        claimsRefusal(claims, clientId, audiences, nowMs / 1000);
      if (refused) return refused;
      const jti = claims.jti as string;
      for (const [id, forgetAt] of seen) if (forgetAt <= nowMs) seen.delete(id);
      if (seen.has(jti)) {
        return refuse(
          "'jti' claim has already been used: a client_assertion is good for one request",
        );
      }
      seen.set(jti, (claims.exp as number) * 1000);
      return undefined;
    },
  };
}
