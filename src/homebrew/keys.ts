import { createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { TrustedKeyError } from "./errors.ts";

/** Homebrew's own public key (see keys/README.md for provenance). */
export const BUILTIN_KEY_PATH: string = fileURLToPath(new URL("./keys/homebrew-1.pem", import.meta.url));

/**
 * The key `.jws.json` signatures are checked against: `"builtin"` is Homebrew's homebrew-1.pem shipped
 * with hbsync; anything else is the path of a PEM public key (e.g. the emulator's test key).
 */
export async function loadTrustedKey(spec: "builtin" | string): Promise<KeyObject> {
  const path = spec === "builtin" ? BUILTIN_KEY_PATH : spec;
  let pem: string;
  try {
    pem = await readFile(path, "utf8");
  } catch (error) {
    throw new TrustedKeyError(`cannot read the trusted key ${path}: ${(error as Error).message}`, path, {
      cause: error,
    });
  }
  return parsePublicKeyPem(pem, path);
}

/** Parses a PEM public key (or the public half of a private key) and checks it is RSA. */
export function parsePublicKeyPem(pem: string, source = "<pem>"): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new TrustedKeyError(`the trusted key ${source} is not a PEM public key`, source, { cause: error });
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw new TrustedKeyError(
      `the trusted key ${source} is ${key.asymmetricKeyType ?? "unknown"}, but Homebrew signs with RSA (PS512)`,
      source,
    );
  }
  return key;
}
