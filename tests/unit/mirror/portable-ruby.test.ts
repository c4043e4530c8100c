import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ociBlobKey } from "../../../src/mirror/layouts.ts";
import {
  PortableRubyError,
  parseVendorFiles,
  portableRubyKey,
  vendorFileNames,
} from "../../../src/mirror/portable-ruby.ts";

/** Homebrew/brew's vendor files at aad366ff (tests/fixtures/homebrew/README.md). */
const FIXTURE = join(import.meta.dirname, "../../fixtures/homebrew/portable-ruby");

async function realVendorFiles(): Promise<Record<string, string | null>> {
  const files: Record<string, string | null> = {};
  for (const name of vendorFileNames()) files[name] = await readFile(join(FIXTURE, name), "utf8");
  return files;
}

describe("mirror/portable-ruby", () => {
  describe("parseVendorFiles", () => {
    it("reads brew's real vendor files: one Portable Ruby per platform, at the names vendor-install.sh asks for", async () => {
      const rubies = parseVendorFiles(await realVendorFiles(), "Homebrew/brew@aad366ff");

      expect(rubies.map(({ platform, tag, key }) => ({ platform, tag, key }))).toEqual([
        {
          platform: "arm64-darwin",
          tag: "arm64_big_sur",
          key: "bottles/portable-ruby-4.0.6.arm64_big_sur.bottle.tar.gz",
        },
        {
          platform: "x86_64-darwin",
          tag: "catalina",
          key: "bottles/portable-ruby-4.0.6.catalina.bottle.tar.gz",
        },
        {
          platform: "arm64-linux",
          tag: "arm64_linux",
          key: "bottles/portable-ruby-4.0.6.arm64_linux.bottle.tar.gz",
        },
        {
          platform: "x86_64-linux",
          tag: "x86_64_linux",
          key: "bottles/portable-ruby-4.0.6.x86_64_linux.bottle.tar.gz",
        },
      ]);
      const linux = rubies.find((ruby) => ruby.platform === "x86_64-linux");
      expect(linux?.sha256).toBe("0980099dc2668dc47bd4c85b704beb76b9406b4a85f77fdda9820d8341b40f87");
      // vendor-install.sh: ${HOMEBREW_ARTIFACT_DOMAIN}/v2/homebrew/core/portable-ruby/blobs/sha256:${ruby_SHA}
      expect(ociBlobKey("portable-ruby", linux?.sha256 ?? "")).toBe(
        "v2/homebrew/core/portable-ruby/blobs/sha256:0980099dc2668dc47bd4c85b704beb76b9406b4a85f77fdda9820d8341b40f87",
      );
    });

    it("skips a platform without a file, and a revision without a version file names none", async () => {
      const files = await realVendorFiles();
      expect(parseVendorFiles({ ...files, "portable-ruby-arm64-linux": null }, "r")).toHaveLength(3);
      expect(parseVendorFiles({ ...files, "portable-ruby-version": null }, "r")).toEqual([]);
    });

    it.each([
      ["portable-ruby-version", "4.0.6; rm -rf /\n", "is not a version"],
      ["portable-ruby-x86_64-linux", "ruby_TAG=x86_64_linux\nruby_SHA=abc\n", "has no valid ruby_SHA"],
      ["portable-ruby-x86_64-linux", `ruby_TAG=../x\nruby_SHA=${"a".repeat(64)}\n`, "has no valid ruby_TAG"],
    ])("refuses a malformed %s", async (name, text, message) => {
      const files = { ...(await realVendorFiles()), [name]: text };
      expect(() => parseVendorFiles(files, "refs/tags/6.0.18")).toThrow(PortableRubyError);
      expect(() => parseVendorFiles(files, "refs/tags/6.0.18")).toThrow(
        `refs/tags/6.0.18: Library/Homebrew/vendor/${name} ${message}`,
      );
    });
  });

  describe("portableRubyKey", () => {
    it("is ruby_FILENAME under bottles/ (HOMEBREW_BOTTLE_DOMAIN/portable-ruby-<version>.<tag>.bottle.tar.gz)", () => {
      expect(portableRubyKey("4.0.5_1", "arm64_big_sur")).toBe(
        "bottles/portable-ruby-4.0.5_1.arm64_big_sur.bottle.tar.gz",
      );
    });
  });
});
