/**
 * How the bot proves itself to Auth0: the application's client secret, or a private key whose
 * public half is registered with the application (private_key_jwt, RFC 7523). Read from the
 * settings and checked here, so that a key Auth0 could never accept stops start-up with one line
 * that names the setting. No line ever shows the key or the secret: at most the file's path.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";

/** The JWS algorithms a client assertion may be signed with, by key type. */
export const CLIENT_ASSERTION_ALGS = ["RS256", "RS384", "PS256", "ES256"] as const;
export type ClientAssertionAlg = (typeof CLIENT_ASSERTION_ALGS)[number];

const RSA_ALGS: readonly ClientAssertionAlg[] = ["RS256", "RS384", "PS256"];
const MIN_RSA_BITS = 2048;

export type Auth0Credential =
  | { kind: "secret"; secret: string }
  | {
      kind: "private_key_jwt";
      /** A KeyObject prints and serializes as nothing: the key cannot slip into a log line. */
      key: KeyObject;
      /** The kid Auth0 gave the registered public key; sent in the assertion's header. */
      keyId: string | undefined;
      alg: ClientAssertionAlg;
    };

/** Where each part of a credential is set, to name it in what is wrong. */
export interface CredentialFieldNames {
  secret: string;
  privateKeyFile: string;
  privateKeyId: string;
  alg: string;
}

export const ENV_CREDENTIAL_FIELDS: CredentialFieldNames = {
  secret: "AUTH0_CLIENT_SECRET",
  privateKeyFile: "AUTH0_PRIVATE_KEY_FILE",
  privateKeyId: "AUTH0_PRIVATE_KEY_ID",
  alg: "AUTH0_CLIENT_ASSERTION_ALG",
};

export interface CredentialInput {
  secret?: string;
  privateKeyFile?: string;
  privateKeyId?: string;
  alg?: string;
}

export interface CredentialProblem {
  variable: string;
  text: string;
}

export type CredentialResult =
  | { credential: Auth0Credential; problems: [] }
  | { credential: undefined; problems: CredentialProblem[] };

/** The credential the AUTH0_* variables describe. */
export function credentialFromEnv(env: NodeJS.ProcessEnv): CredentialResult {
  const f = ENV_CREDENTIAL_FIELDS;
  return readCredential(
    {
      secret: env[f.secret],
      privateKeyFile: env[f.privateKeyFile],
      privateKeyId: env[f.privateKeyId],
      alg: env[f.alg],
    },
    f,
  );
}

/** Exactly one of a secret and a key file; the key file readable, and a key Auth0 can take. */
export function readCredential(
  input: CredentialInput,
  names: CredentialFieldNames,
): CredentialResult {
  const text = (v: string | undefined) => v?.trim() || undefined;
  const secret = text(input.secret);
  const file = text(input.privateKeyFile);
  const keyId = text(input.privateKeyId);
  const alg = text(input.alg);
  const problem = (variable: string, words: string): CredentialResult => ({
    credential: undefined,
    problems: [{ variable, text: `${variable} ${words}` }],
  });

  if (secret && file) {
    return problem(
      names.secret,
      `and ${names.privateKeyFile} are both set: set one (a client secret, or a private key for private_key_jwt)`,
    );
  }
  if (secret) {
    const stray = [keyId && names.privateKeyId, alg && names.alg].filter(Boolean).join(" and ");
    if (stray) return problem(stray, `has no effect without ${names.privateKeyFile}: remove it`);
    return { credential: { kind: "secret", secret }, problems: [] };
  }
  if (!file) {
    return problem(
      names.secret,
      `is required (the machine-to-machine application's client secret), or set ${names.privateKeyFile} for private_key_jwt`,
    );
  }
  if (alg !== undefined && !(CLIENT_ASSERTION_ALGS as readonly string[]).includes(alg)) {
    return problem(names.alg, `must be one of ${CLIENT_ASSERTION_ALGS.join(", ")}, not "${alg}"`);
  }
  const key = readPrivateKey(file);
  if (typeof key === "string") return problem(names.privateKeyFile, key);
  const chosen = assertionAlg(key, alg as ClientAssertionAlg | undefined, names.alg);
  if (!chosen.alg)
    return problem(chosen.variable === "alg" ? names.alg : names.privateKeyFile, chosen.why);
  return {
    credential: { kind: "private_key_jwt", key, keyId, alg: chosen.alg },
    problems: [],
  };
}

/** The private key in `path`, or what is wrong with it in words that never quote the file. */
function readPrivateKey(path: string): KeyObject | string {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return `names ${path}, which does not exist`;
    if (code === "EACCES") return `names ${path}, which this process may not read`;
    if (code === "EISDIR") return `names ${path}, which is a directory, not a key file`;
    return `names ${path}, which could not be read (${code ?? "unknown error"})`;
  }
  const kind = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1] ?? "";
  if (/ENCRYPTED/.test(kind) || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    return `(${path}) holds a passphrase-protected key: store it unencrypted (openssl pkey -in KEY -out KEY.pem) and readable by this user only`;
  }
  if (/PUBLIC KEY|CERTIFICATE/.test(kind)) {
    return `(${path}) holds a ${kind.toLowerCase()}, not the private key: that half goes to Auth0, this file needs the private one`;
  }
  try {
    return createPrivateKey({ key: pem, format: "pem" });
  } catch {
    return `(${path}) is not a private key in PEM form (PKCS#8, or PKCS#1 for RSA, SEC1 for EC)`;
  }
}

/** The algorithm for `key`: the one asked for when the key allows it, else the key's own. */
function assertionAlg(
  key: KeyObject,
  asked: ClientAssertionAlg | undefined,
  algName: string,
):
  | { alg: ClientAssertionAlg; why?: undefined }
  | { alg?: undefined; variable: "alg" | "file"; why: string } {
  const type = key.asymmetricKeyType;
  if (type === "rsa") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      return {
        variable: "file",
        why: `holds a ${bits}-bit RSA key: ${RSA_ALGS.join(", ")} need at least ${MIN_RSA_BITS} bits`,
      };
    }
    if (asked && !RSA_ALGS.includes(asked)) {
      return {
        variable: "alg",
        why: `is ${asked}, which an RSA key cannot sign: use ${RSA_ALGS.join(", ")}`,
      };
    }
    return { alg: asked ?? "RS256" };
  }
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== "prime256v1") {
      return {
        variable: "file",
        why: `holds an EC key on ${curve ?? "an unknown curve"}: ES256 needs P-256 (prime256v1)`,
      };
    }
    if (asked && asked !== "ES256") {
      return { variable: "alg", why: `is ${asked}, which an EC P-256 key cannot sign: use ES256` };
    }
    return { alg: "ES256" };
  }
  if (type === "rsa-pss") {
    return {
      variable: "file",
      why: `holds an RSASSA-PSS-only key: use a plain RSA key (openssl genrsa 2048) with ${algName}=PS256`,
    };
  }
  return {
    variable: "file",
    why: `holds an ${type ?? "unknown"} key: use an RSA key of ${MIN_RSA_BITS} bits or more (${RSA_ALGS.join(", ")}) or an EC P-256 key (ES256)`,
  };
}
