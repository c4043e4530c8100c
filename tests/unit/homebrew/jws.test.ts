import { constants, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SignatureError } from "../../../src/homebrew/errors.ts";
import { signJws, verifyJws } from "../../../src/homebrew/jws.ts";
import { loadTrustedKey } from "../../../src/homebrew/keys.ts";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
const payload = JSON.stringify([{ name: "wget", versions: { stable: "1.25.0" } }]);

/** Signs like Homebrew but with a chosen protected header, for negative cases. */
function signWithHeader(
  header: Record<string, unknown>,
  key: KeyObject = privateKey,
  kid = "homebrew-1",
): string {
  const protectedHeader = Buffer.from(JSON.stringify(header)).toString("base64url");
  const signature = sign("sha512", Buffer.from(`${protectedHeader}.${payload}`), {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 64,
  }).toString("base64url");
  return JSON.stringify({
    payload,
    signatures: [{ protected: protectedHeader, header: { kid }, signature }],
  });
}

function mutate(text: string, change: (document: { payload: string; signatures: any[] }) => void): string {
  const document = JSON.parse(text);
  change(document);
  return JSON.stringify(document);
}

describe("homebrew/jws", () => {
  describe("verifyJws", () => {
    it("accepts what signJws produced and returns the payload text unchanged", () => {
      expect(verifyJws(signJws(payload, privateKey), publicKey)).toEqual({ payload });
    });

    it("accepts a real-structure document: several signatures, the homebrew-1 one not first, crit header", () => {
      const good = JSON.parse(signJws(payload, privateKey));
      const document = {
        payload,
        signatures: [
          { protected: good.signatures[0].protected, header: { kid: "homebrew-0" }, signature: "AAAA" },
          good.signatures[0],
        ],
      };

      expect(verifyJws(JSON.stringify(document, null, 2), publicKey).payload).toBe(payload);
    });

    it("verifies the UTF-8 bytes of a payload with multibyte characters, and refuses one changed character", () => {
      const text = signJws(JSON.stringify([{ name: "café", desc: "Zeichen für 🍺 — “quoted”" }]), privateKey);

      expect(verifyJws(text, publicKey).payload).toContain("🍺");
      // Same length in UTF-16, other UTF-8 bytes: only a check over the encoded bytes notices.
      expect(() => verifyJws(text.replace("🍺", "🍻"), publicKey)).toThrow(/signature mismatch/);
    });

    it("salts with the digest length, as Ruby's verify_pss(salt_length: :digest) expects", () => {
      const text = signWithHeader({ alg: "PS512", b64: false, crit: ["b64"] });

      expect(verifyJws(text, publicKey).payload).toBe(payload);
    });

    it.each([
      [
        "a tampered payload",
        (text: string) => mutate(text, (d) => (d.payload = d.payload.replace("wget", "wgot"))),
        /signature mismatch/,
      ],
      [
        "a tampered protected header",
        (text: string) =>
          mutate(text, (d) => {
            d.signatures[0].protected = Buffer.from('{"alg":"PS512","b64":false,"x":1}').toString(
              "base64url",
            );
          }),
        /signature mismatch/,
      ],
      [
        "a tampered signature",
        (text: string) =>
          mutate(text, (d) => {
            const s: string = d.signatures[0].signature;
            d.signatures[0].signature = `${s[0] === "A" ? "B" : "A"}${s.slice(1)}`;
          }),
        /signature mismatch/,
      ],
      [
        "a signature under another kid only",
        (text: string) => mutate(text, (d) => (d.signatures[0].header.kid = "homebrew-2")),
        /no signature with kid "homebrew-1"/,
      ],
      ["no signatures", (text: string) => mutate(text, (d) => (d.signatures = [])), /key not found/],
      ["garbage", () => "<html>not json</html>", /not valid JSON/],
      ["a bare payload without an envelope", () => payload, /not a JWS document/],
      [
        "a non-base64url signature",
        (text: string) => mutate(text, (d) => (d.signatures[0].signature = "!!!")),
        /not base64url/,
      ],
    ])("rejects %s", (_case, tamper, message) => {
      const text = tamper(signJws(payload, privateKey));

      expect(() => verifyJws(text, publicKey)).toThrow(SignatureError);
      expect(() => verifyJws(text, publicKey)).toThrow(message);
    });

    it.each([
      ["alg RS512", { alg: "RS512", b64: false }],
      ["alg none", { alg: "none", b64: false }],
      ["b64 true", { alg: "PS512", b64: true }],
      ["b64 absent (means true)", { alg: "PS512" }],
    ])("rejects a protected header with %s even when the signature itself is valid", (_case, header) => {
      expect(() => verifyJws(signWithHeader(header), publicKey)).toThrow(/invalid algorithm/);
    });

    it("rejects a valid signature made with another key", () => {
      expect(() => verifyJws(signJws(payload, other.privateKey), publicKey)).toThrow(/signature mismatch/);
    });

    it("checks the kid it is given", () => {
      const text = signJws(payload, privateKey, "emulator-1");

      expect(verifyJws(text, publicKey, "emulator-1").payload).toBe(payload);
      expect(() => verifyJws(text, publicKey)).toThrow(/kid "homebrew-1"/);
    });

    it("rejects our own signatures under Homebrew's builtin key", async () => {
      const homebrew = await loadTrustedKey("builtin");

      expect(() => verifyJws(signJws(payload, privateKey), homebrew)).toThrow(/signature mismatch/);
    });
  });

  describe("loadTrustedKey", () => {
    it("ships Homebrew's homebrew-1.pem byte for byte (same as the fixture)", () => {
      const shipped = readFileSync(
        new URL("../../../src/homebrew/keys/homebrew-1.pem", import.meta.url),
        "utf8",
      );
      const fixture = readFileSync(
        new URL("../../fixtures/homebrew/homebrew-1.pem", import.meta.url),
        "utf8",
      );

      expect(shipped).toBe(fixture);
    });

    it("loads the builtin key as a 4096-bit RSA public key", async () => {
      const key = await loadTrustedKey("builtin");

      expect(key.asymmetricKeyType).toBe("rsa");
      expect(key.asymmetricKeyDetails?.modulusLength).toBe(4096);
    });

    it("says which path it could not read", async () => {
      await expect(loadTrustedKey("/nonexistent/key.pem")).rejects.toThrow(
        /cannot read the trusted key \/nonexistent/,
      );
    });

    it("refuses a file that is not a PEM public key", async () => {
      const notAKey = new URL("../../fixtures/homebrew/README.md", import.meta.url).pathname;

      await expect(loadTrustedKey(notAKey)).rejects.toThrow(/is not a PEM public key/);
    });
  });
});
