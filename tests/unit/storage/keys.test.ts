import { describe, expect, it } from "vitest";
import { InvalidKeyError } from "../../../src/storage/errors.ts";
import { assertValidKey, assertValidPrefix, compareKeys, isValidKey } from "../../../src/storage/keys.ts";

describe("storage/keys", () => {
  describe("assertValidKey", () => {
    it.each([
      "bottles/openssl@3-3.4.0.arm64_sequoia.bottle.tar.gz",
      "bottles/openssl/3/manifests/3.4.0",
      "bottles/c++-1.0.all.bottle.1.tar.gz",
      "api/internal/packages.arm64_sequoia.jws.json",
      "_sync/lock",
      "a/.tmp/b",
      "..hidden",
      "a".repeat(1024),
    ])("accepts %s", (key) => {
      expect(() => assertValidKey(key)).not.toThrow();
    });

    it.each([
      ["", "is empty"],
      ["../x", '".." segment'],
      ["a/../../x", '".." segment'],
      ["a/./b", '"." segment'],
      ["/abs", "absolute"],
      ["a//b", "empty segment"],
      ["a/", "empty segment"],
      ["a\0b", "control character"],
      ["a\nb", "control character"],
      ["a\u007fb", "control character"],
      ["a\\b", "backslash"],
      ["é".repeat(513), "longer than 1024 bytes"],
      [".tmp/x", "reserved"],
    ])("rejects %j (%s)", (key, reason) => {
      expect(() => assertValidKey(key)).toThrow(InvalidKeyError);
      expect(() => assertValidKey(key)).toThrow(reason);
      expect(isValidKey(key)).toBe(false);
    });
  });

  describe("assertValidPrefix", () => {
    it("accepts the empty prefix, folder prefixes and partial names", () => {
      for (const prefix of ["", "bottles/", "bottles/open", "_ledger/dev/"]) {
        expect(() => assertValidPrefix(prefix)).not.toThrow();
      }
    });

    it("rejects prefixes that escape or name the temp folder", () => {
      for (const prefix of ["../", "/bottles", "a//", ".tmp/"]) {
        expect(() => assertValidPrefix(prefix)).toThrow(InvalidKeyError);
      }
    });
  });

  describe("compareKeys", () => {
    it("orders by UTF-8 bytes like S3, not by UTF-16 code units", () => {
      // U+FF21 (EF BC A1) sorts before U+1F600 (F0 9F 98 80) in UTF-8, after it in UTF-16.
      expect(["\u{1F600}", "\uFF21", "a/b", "a-c"].sort(compareKeys)).toEqual([
        "a-c",
        "a/b",
        "\uFF21",
        "\u{1F600}",
      ]);
    });
  });
});
