import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";

/**
 * How a Management API token is sealed before it goes to Redis, where every process of the
 * fleet can read it: AES-256-GCM under a key derived (HKDF-SHA256) from the application's own
 * credential. Whoever can read Redis but does not hold the credential gets nothing usable: not
 * the token, and nothing that would let them guess it. The associated data binds the Redis key
 * name and the fields kept in clear, so an entry copied under another name, or with a later
 * expiry written in, does not open.
 */

/** What proves the application to Auth0: a client secret, or a private key (private_key_jwt). */
export type ClientCredential =
  | { clientSecret: string }
  | { privateKey: KeyObject | string; keyId?: string | undefined };

/** Whose token it is: one entry per tenant, application and API. */
export interface TokenOwner {
  /** The tenant's name in this app's configuration ("default" while there is one). */
  tenant: string;
  clientId: string;
  audience: string;
}

/** A token as a process holds it, and as the fleet shares it. */
export interface CachedToken {
  accessToken: string;
  /** From then on, callers get this token while a fresh one is fetched in the background. */
  refreshAtMs: number;
  /** From then on, callers wait for a fresh token. */
  expiresAtMs: number;
  scopes: string[];
}

/** The Redis entry: the token encrypted, its timing and scopes in clear but authenticated. */
interface SealedEntry {
  v: 1;
  /** Keyed hash of the token: which token this is, for compare-and-delete on a 401. */
  tid: string;
  iv: string;
  ciphertext: string;
  tag: string;
  expiresAt: number;
  refreshAt: number;
  scopes: string[];
}

/** Fixed, public: HKDF's salt only separates this app's keys from any other use of the secret. */
const SALT = Buffer.from("promote-connection/auth0-token-cache/salt/v1");
const INFO = "promote-connection auth0 token cache v1";

/**
 * The credential as key material: a client secret's bytes, or a private key in a canonical form
 * (PKCS#8 DER), so the same key written as PKCS#1 or PKCS#8 PEM derives the same cache key. The
 * key id goes in too: another registered credential is another entry.
 */
export function credentialKeyMaterial(credential: ClientCredential): Buffer {
  if ("clientSecret" in credential) {
    return Buffer.concat([Buffer.from("client_secret\0"), Buffer.from(credential.clientSecret)]);
  }
  const { privateKey, keyId = "" } = credential;
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  const der = key.export({ format: "der", type: "pkcs8" });
  return Buffer.concat([Buffer.from(`private_key\0${keyId}\0`), der]);
}

/** sha256, hex, of a few strings joined unambiguously; for naming, never for secrets. */
export function nameHash(...parts: string[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
}

export class TokenSeal {
  /** Names the credential in the Redis key without revealing anything about it. */
  readonly keyId: string;
  private readonly encryptionKey: Buffer;
  private readonly identityKey: Buffer;

  constructor(credential: ClientCredential, owner: TokenOwner) {
    const ikm = credentialKeyMaterial(credential);
    const info = (use: string) =>
      `${INFO}|${use}|${JSON.stringify([owner.tenant, owner.clientId, owner.audience])}`;
    const derive = (use: string) => Buffer.from(hkdfSync("sha256", ikm, SALT, info(use), 32));
    this.encryptionKey = derive("encrypt");
    this.identityKey = derive("identify");
    this.keyId = createHmac("sha256", this.identityKey).update("key id").digest("hex").slice(0, 16);
  }

  /** Which token this is, for comparing in Redis; cannot be turned back into the token. */
  tokenId(accessToken: string): string {
    return createHmac("sha256", this.identityKey)
      .update(accessToken)
      .digest()
      .subarray(0, 16)
      .toString("base64url");
  }

  /** The entry to store under `redisKey`. */
  seal(token: CachedToken, redisKey: string): string {
    const iv = randomBytes(12);
    const clear = {
      v: 1 as const,
      tid: this.tokenId(token.accessToken),
      expiresAt: token.expiresAtMs,
      refreshAt: token.refreshAtMs,
      scopes: token.scopes,
    };
    const cipher = createCipheriv("aes-256-gcm", this.encryptionKey, iv);
    cipher.setAAD(associatedData(redisKey, clear));
    const ciphertext = Buffer.concat([cipher.update(token.accessToken, "utf8"), cipher.final()]);
    const entry: SealedEntry = {
      ...clear,
      iv: iv.toString("base64url"),
      ciphertext: ciphertext.toString("base64url"),
      tag: cipher.getAuthTag().toString("base64url"),
    };
    return JSON.stringify(entry);
  }

  /**
   * The token stored under `redisKey`, or undefined when the entry does not open: sealed with
   * another credential, for another key name, altered, or not an entry at all.
   */
  open(raw: string, redisKey: string): CachedToken | undefined {
    let entry: SealedEntry;
    try {
      entry = JSON.parse(raw) as SealedEntry;
      if (entry.v !== 1 || !Array.isArray(entry.scopes)) return undefined;
      const decipher = createDecipheriv(
        "aes-256-gcm",
        this.encryptionKey,
        Buffer.from(entry.iv, "base64url"),
        { authTagLength: 16 },
      );
      decipher.setAAD(associatedData(redisKey, entry));
      decipher.setAuthTag(Buffer.from(entry.tag, "base64url"));
      const accessToken = Buffer.concat([
        decipher.update(Buffer.from(entry.ciphertext, "base64url")),
        decipher.final(),
      ]).toString("utf8");
      return {
        accessToken,
        expiresAtMs: entry.expiresAt,
        refreshAtMs: entry.refreshAt,
        scopes: [...entry.scopes],
      };
    } catch {
      return undefined;
    }
  }
}

function associatedData(
  redisKey: string,
  e: Pick<SealedEntry, "v" | "tid" | "expiresAt" | "refreshAt" | "scopes">,
): Buffer {
  return Buffer.from(JSON.stringify([e.v, redisKey, e.tid, e.expiresAt, e.refreshAt, e.scopes]));
}
