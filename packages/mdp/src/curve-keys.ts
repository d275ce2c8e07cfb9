import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { curveKeyPair } from "zeromq";

/**
 * CURVE keys as ZeroMQ writes them: 32-byte Curve25519 keys in Z85 (ZeroMQ RFC 32),
 * 40 characters, and the certificate files of czmq's zcert and pyzmq's
 * zmq.auth.create_certificates (`name.key` public, `name.key_secret` both).
 */
export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/** What a CURVE client socket (our client, worker, the gateway's SUB) needs: its own pair and the server key it pins. */
export interface CurveClientKeys extends CurveKeyPair {
  serverKey: string;
}

/** A key that is not a Z85 Curve25519 key, or a pair that does not belong together. Never carries a secret. */
export class CurveKeyError extends Error {
  override readonly name = "CurveKeyError";
}

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const Z85_VALUE = new Map([...Z85].map((c, i) => [c, i]));
const KEY_CHARS = 40;
/** PKCS #8 prefix of a raw X25519 private key (RFC 8410): Node derives the public key from it. */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) throw new CurveKeyError("Z85 encodes a multiple of 4 bytes");
  const view = Buffer.from(data.buffer, data.byteOffset, data.length);
  let out = "";
  for (let i = 0; i < view.length; i += 4) {
    let value = view.readUInt32BE(i);
    const chunk = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      chunk[j] = Z85[value % 85] as string;
      value = Math.floor(value / 85);
    }
    out += chunk.join("");
  }
  return out;
}

/** Throws CurveKeyError (without echoing the text, which may be a secret) unless it is valid Z85. */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw new CurveKeyError("Z85 text must be a multiple of 5 characters");
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = Z85_VALUE.get(text[i + j] as string);
      if (digit === undefined) throw new CurveKeyError("not a Z85 character");
      value = value * 85 + digit;
    }
    if (value > 0xffff_ffff) throw new CurveKeyError("Z85 group out of range");
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}

/** The key as given (trimmed) if it is a Z85 Curve25519 key; `what` names it in the error. */
export function checkCurveKey(text: string, what: string): string {
  const key = text.trim();
  if (key.length !== KEY_CHARS) throw new CurveKeyError(`${what} must be ${KEY_CHARS} Z85 characters`);
  try {
    z85Decode(key);
  } catch {
    throw new CurveKeyError(`${what} is not valid Z85`);
  }
  return key;
}

/** The public key of a secret key (X25519 base-point multiplication, by Node's crypto). */
export function curvePublicKeyOf(secretKey: string): string {
  const raw = z85Decode(checkCurveKey(secretKey, "the secret key"));
  const privateKey = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, raw]),
    format: "der",
    type: "pkcs8",
  });
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  return z85Encode(Buffer.from(jwk.x as string, "base64url"));
}

/** A new key pair (libzmq's zmq_curve_keypair). */
export function generateCurveKeyPair(): CurveKeyPair {
  const pair = curveKeyPair();
  return { publicKey: pair.publicKey, secretKey: pair.secretKey };
}

/**
 * A pair from a secret key and, optionally, the public key given beside it: the
 * public key is derived, and one given that does not belong to the secret is refused
 * (a mismatched pair would only show up later, as handshakes that fail).
 */
export function curveKeyPairOf(secretKey: string, publicKey?: string): CurveKeyPair {
  const secret = checkCurveKey(secretKey, "the secret key");
  const derived = curvePublicKeyOf(secret);
  if (publicKey !== undefined && checkCurveKey(publicKey, "the public key") !== derived) {
    throw new CurveKeyError("the public key does not belong to the secret key");
  }
  return { publicKey: derived, secretKey: secret };
}

/**
 * Reads a key file: a ZeroMQ certificate (zcert / pyzmq format: `public-key = "..."`,
 * and `secret-key = "..."` in a secret certificate) or a file holding just the key.
 */
export function parseCurveKeyFile(
  text: string,
  what: string,
): { publicKey?: string; secretKey?: string; bare?: string } {
  const field = (name: string): string | undefined => {
    const m = new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"\\s*$`, "m").exec(text);
    return m?.[1] === undefined ? undefined : checkCurveKey(m[1], `${what}: ${name}`);
  };
  const publicKey = field("public-key");
  const secretKey = field("secret-key");
  if (publicKey !== undefined || secretKey !== undefined) return { publicKey, secretKey };
  const bare = text.trim();
  if (bare.length === 0) throw new CurveKeyError(`${what} is empty`);
  // A bare key: which one it is depends on the variable that named the file.
  return { bare: checkCurveKey(bare, what) };
}

/** A ZeroMQ certificate, in the format czmq and pyzmq write and read. */
export function formatCurveCertificate(keys: { publicKey: string; secretKey?: string }, comment: string): string {
  const kind = keys.secretKey === undefined ? "Public" : "**Secret**";
  const lines = [
    `#   ****  ${comment}  ****`,
    `#   ZeroMQ CURVE ${kind} Certificate`,
    keys.secretKey === undefined
      ? "#   Exchange securely, or use a secure mechanism to verify the contents"
      : "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
    "",
    "metadata",
    "curve",
    `    public-key = "${keys.publicKey}"`,
  ];
  if (keys.secretKey !== undefined) lines.push(`    secret-key = "${keys.secretKey}"`);
  return `${lines.join("\n")}\n`;
}

/** Where a variable's failure comes from: its name, never its value (it may be a secret). */
export class CurveConfigError extends Error {
  override readonly name = "CurveConfigError";
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable}: ${reason}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v;
}

/**
 * One key from the environment: `NAME` (Z85) or `NAME_FILE` (a certificate or a file
 * holding the key), not both. `kind` says which key a certificate must provide.
 * Throws CurveConfigError naming the variable; the message never holds the value.
 */
export function readCurveKeyVariable(env: Env, name: string, kind: "public" | "secret"): string | undefined {
  return readKey(env, name, kind)?.key;
}

function readKey(env: Env, name: string, kind: "public" | "secret"): { key: string; certified?: string } | undefined {
  const inline = value(env, name);
  const fileName = `${name}_FILE`;
  const path = value(env, fileName);
  if (inline !== undefined && path !== undefined) {
    throw new CurveConfigError(name, `set either ${name} or ${fileName}, not both`);
  }
  if (inline !== undefined) {
    try {
      return { key: checkCurveKey(inline, `a ${kind} key`) };
    } catch (err) {
      throw new CurveConfigError(name, reasonOf(err));
    }
  }
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code ?? "unreadable";
    throw new CurveConfigError(fileName, `cannot read ${JSON.stringify(path)} (${code})`);
  }
  try {
    const keys = parseCurveKeyFile(text, JSON.stringify(path));
    if (keys.bare !== undefined) return { key: keys.bare };
    const key = kind === "public" ? keys.publicKey : keys.secretKey;
    if (key === undefined) throw new CurveKeyError(`${JSON.stringify(path)} holds no ${kind} key`);
    // A secret certificate names its public key too, which must belong to the secret.
    return { key, certified: kind === "secret" ? keys.publicKey : undefined };
  } catch (err) {
    throw new CurveConfigError(fileName, reasonOf(err));
  }
}

/**
 * A process's own pair from `<prefix>SECRET_KEY[_FILE]` and the optional
 * `<prefix>PUBLIC_KEY[_FILE]` (derived from the secret when absent; refused when it
 * does not belong to it). Undefined when no secret key is set.
 */
export function readCurveKeyPairVariables(env: Env, prefix = "ZMQ_CURVE_"): CurveKeyPair | undefined {
  const secretName = `${prefix}SECRET_KEY`;
  const publicName = `${prefix}PUBLIC_KEY`;
  const secret = readKey(env, secretName, "secret");
  const publicKey = readKey(env, publicName, "public")?.key;
  if (secret === undefined) {
    if (publicKey !== undefined) throw new CurveConfigError(secretName, `is required when ${publicName} is set`);
    return undefined;
  }
  try {
    const pair = curveKeyPairOf(secret.key, secret.certified);
    if (publicKey !== undefined && publicKey !== pair.publicKey) {
      throw new CurveKeyError(`does not belong to ${secretName}`);
    }
    return pair;
  } catch (err) {
    throw new CurveConfigError(publicKey === undefined ? secretName : publicName, reasonOf(err));
  }
}

/** A comma-separated list of public keys (Z85 has no comma). */
export function readCurveKeyList(env: Env, name: string): string[] {
  const inline = value(env, name);
  if (inline === undefined) return [];
  return inline
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k.length > 0)
    .map((k, i) => {
      try {
        return checkCurveKey(k, `key ${i + 1}`);
      } catch (err) {
        throw new CurveConfigError(name, reasonOf(err));
      }
    });
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
