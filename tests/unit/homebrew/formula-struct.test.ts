import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deepCompactBlank, formulaStruct, licenseExpression } from "../../../src/homebrew/formula-struct.ts";

const FIXTURES = new URL("../../fixtures/homebrew/", import.meta.url);
const sample = JSON.parse(readFileSync(new URL("formula-sample.json", FIXTURES), "utf8")) as {
  entries: Array<{ formula: Record<string, unknown> }>;
};
const real = (name: string): Record<string, unknown> => {
  const entry = sample.entries.find((candidate) => candidate.formula.name === name);
  if (!entry) throw new Error(`fixture has no ${name}`);
  return entry.formula;
};

describe("homebrew/formula-struct", () => {
  describe("formulaStruct", () => {
    it("writes stable_url_args and stable_version (brew stops with 'formula requires at least a URL' without them)", () => {
      const struct = formulaStruct(real("wget"), "x86_64_linux");

      expect(struct.stable_url_args).toEqual(["https://ftp.gnu.org/gnu/wget/wget-1.25.0.tar.gz"]);
      expect(struct.stable_version).toBe("1.25.0");
      expect(struct.bottle_checksum).toBe("ab5f3c1c60bef4e2a4781e9b29af8afb48ead837136c419edd7febdf44b59058");
      expect(struct.bottle_tag).toBeUndefined();
    });

    it("names an older macOS bottle or `all` in bottle_tag, and omits the default cellar", () => {
      expect(formulaStruct(real("wget"), "arm64_tahoe")).toMatchObject({
        bottle_tag: ":arm64_sequoia",
        bottle_cellar: "/opt/homebrew/Cellar",
      });
      const caCertificates = JSON.parse(readFileSync(new URL("ca-certificates.json", FIXTURES), "utf8"));
      const all = formulaStruct(caCertificates, "x86_64_linux");
      expect(all.bottle_tag).toBe(":all");
      expect(all).not.toHaveProperty("bottle_cellar");
    });

    it("stops, as brew's generator does, on a requirement without specs (2022 formula.json)", () => {
      // Checked with brew aad366ff: NoMethodError "undefined method 'include?' for nil".
      expect(() => formulaStruct(real("abi-compliance-checker"), "x86_64_linux")).toThrow('has no "specs"');
    });

    it("refuses a formula with a service rather than write it wrong", () => {
      expect(() => formulaStruct({ ...real("wget"), service: { run: ["wget"] } }, "x86_64_linux")).toThrow(
        "does not model formulae with a service",
      );
    });
  });

  describe("licenseExpression (SPDX.string_to_license_expression)", () => {
    it.each([
      ["MIT", "MIT"],
      ["Apache-2.0 OR MIT", { ":any_of": ["Apache-2.0", "MIT"] }],
      [
        "MIT AND (Apache-2.0 OR BSD-3-Clause)",
        { ":all_of": ["MIT", { ":any_of": ["Apache-2.0", "BSD-3-Clause"] }] },
      ],
      [
        "GPL-2.0-only WITH Classpath-exception-2.0",
        { "GPL-2.0-only": { ":with": "Classpath-exception-2.0" } },
      ],
      ["LicenseRef-Homebrew-public-domain", ":public_domain"],
      ["LicenseRef-Homebrew-other", "LicenseRef-Homebrew-other"],
    ])("%s", (license, expected) => {
      expect(licenseExpression(license)).toEqual(expected);
    });
  });

  describe("deepCompactBlank (Utils.deep_compact_blank)", () => {
    it("drops nil, false, 0, blank strings, and what becomes empty, recursively", () => {
      expect(
        deepCompactBlank({ a: [null, "", " \n", 0, false, { b: [] }, "x", 1, true], c: {}, d: 0 }),
      ).toEqual({
        a: ["x", 1, true],
      });
      expect(deepCompactBlank([["url", {}]])).toEqual([["url"]]);
    });
  });
});
