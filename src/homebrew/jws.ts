import { constants, createPrivateKey, createVerify, type KeyObject, sign } from "node:crypto";
import { SignatureError } from "./errors.ts";

/**
 * JWS JSON serialization as Homebrew uses it for `*.jws.json` (DESIGN.md §1), following
 * Homebrew/brew Library/Homebrew/api.rb `verify_and_parse_jws` / `verify_jws_signature`:
 * - the signature is the one whose unprotected `header.kid` equals the kid (`homebrew-1`);
 * - its protected header (base64url JSON) must say `alg: "PS512"` and `b64: false` (unencoded payload,
 *   RFC 7797 — an absent `b64` means true and is refused);
 * - RSA-PSS with SHA-512, MGF1-SHA-512, salt length = digest length (64), over the bytes of
 *   `protected + "." + payload`, where payload is the JSON text exactly as served.
 */
export const HOMEBREW_KID = "homebrew-1";
const PSS_SALT_LENGTH = 64;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export interface JwsSignatureEntry {
  protected: string;
  header?: { kid?: string; [other: string]: unknown };
  signature: string;
}

export interface JwsDocument {
  payload: string;
  signatures: JwsSignatureEntry[];
}

/**
 * Verifies `text` (the bytes of a `.jws.json` file, as UTF-8) and returns its payload text.
 * Throws SignatureError, saying why, unless a `kid` signature verifies under `key`.
 */
export function verifyJws(text: string, key: KeyObject, kid: string = HOMEBREW_KID): { payload: string } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new SignatureError("not a JWS document: the file is not valid JSON", { cause: error });
  }
  if (!isRecord(document) || typeof document.payload !== "string" || !Array.isArray(document.signatures)) {
    throw new SignatureError("not a JWS document: expected {payload: string, signatures: [...]}");
  }
  const entry = document.signatures.find((candidate) => isRecord(candidate) && kidOf(candidate) === kid);
  if (!isRecord(entry)) {
    throw new SignatureError(`no signature with kid "${kid}" (key not found)`);
  }
  if (typeof entry.protected !== "string" || typeof entry.signature !== "string") {
    throw new SignatureError(`the "${kid}" signature lacks its protected header or signature value`);
  }
  const header = decodeProtectedHeader(entry.protected);
  if (header.alg !== "PS512" || header.b64 !== false) {
    throw new SignatureError(
      `invalid algorithm: the protected header must be alg PS512 with b64 false, got alg ${JSON.stringify(header.alg)} b64 ${JSON.stringify(header.b64)}`,
    );
  }
  if (!BASE64URL.test(entry.signature)) {
    throw new SignatureError("signature mismatch: the signature is not base64url");
  }
  let ok = false;
  try {
    // The signing input is `protected + "." + payload` as UTF-8; the verifier encodes the strings itself
    // (no 80 MB Buffer of the joined text for formula.jws.json).
    const verifier = createVerify("sha512");
    verifier.update(`${entry.protected}.`, "utf8");
    verifier.update(document.payload, "utf8");
    ok = verifier.verify(
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH },
      Buffer.from(entry.signature, "base64url"),
    );
  } catch (error) {
    throw new SignatureError(`signature mismatch: ${(error as Error).message}`, { cause: error });
  }
  if (!ok) {
    throw new SignatureError(
      `signature mismatch: the "${kid}" signature does not verify with the trusted key`,
    );
  }
  return { payload: document.payload };
}

/**
 * Signs `payload` the way formulae.brew.sh does (for the emulator and tests): one PS512 signature
 * with protected header `{"alg":"PS512","b64":false,"crit":["b64"]}` and `header.kid`.
 * Returns the `.jws.json` text.
 */
export function signJws(payload: string, privateKey: KeyObject | string, kid: string = HOMEBREW_KID): string {
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  const protectedHeader = Buffer.from(
    JSON.stringify({ alg: "PS512", b64: false, crit: ["b64"] }),
    "utf8",
  ).toString("base64url");
  const signature = sign("sha512", Buffer.from(`${protectedHeader}.${payload}`, "utf8"), {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: PSS_SALT_LENGTH,
  }).toString("base64url");
  const document: JwsDocument = {
    payload,
    signatures: [{ protected: protectedHeader, header: { kid }, signature }],
  };
  return JSON.stringify(document);
}

function decodeProtectedHeader(value: string): Record<string, unknown> {
  if (!BASE64URL.test(value))
    throw new SignatureError("invalid algorithm: protected header is not base64url");
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
  } catch (error) {
    throw new SignatureError("invalid algorithm: protected header is not base64url JSON", { cause: error });
  }
  if (!isRecord(header)) throw new SignatureError("invalid algorithm: protected header is not a JSON object");
  return header;
}

function kidOf(entry: Record<string, unknown>): unknown {
  return isRecord(entry.header) ? entry.header.kid : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
