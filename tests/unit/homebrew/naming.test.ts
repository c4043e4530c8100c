import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  bottleFilename,
  bottleRefs,
  imageName,
  pkgVersion,
  urlEncodeSegment,
  versionRebuild,
} from "../../../src/homebrew/naming.ts";
import type { FormulaInfo } from "../../../src/homebrew/types.ts";

const FIXTURES = new URL("../../fixtures/homebrew/", import.meta.url);
const sample = JSON.parse(readFileSync(new URL("formula-sample.json", FIXTURES), "utf8")) as {
  entries: Array<{ formula: FormulaInfo }>;
};
const real = (name: string): FormulaInfo => {
  const entry = sample.entries.find((candidate) => candidate.formula.name === name);
  if (!entry) throw new Error(`fixture has no ${name}`);
  return entry.formula;
};

describe("homebrew/naming", () => {
  describe("bottleRefs on real fixture entries", () => {
    it.each([
      // name, tag asked for, expected store key, image, manifest reference
      ["a2ps", "arm64_monterey", "bottles/a2ps-4.14.arm64_monterey.bottle.4.tar.gz", "a2ps", "4.14-4"],
      ["aalib", "x86_64_linux", "bottles/aalib-1.4rc5_2.x86_64_linux.bottle.tar.gz", "aalib", "1.4rc5_2"],
      ["abcde", "monterey", "bottles/abcde-2.9.3_1.monterey.bottle.tar.gz", "abcde", "2.9.3_1"],
      [
        "openssl@3",
        "arm64_monterey",
        "bottles/openssl@3-3.0.5.arm64_monterey.bottle.tar.gz",
        "openssl/3",
        "3.0.5",
      ],
      [
        "abi-compliance-checker",
        "all",
        "bottles/abi-compliance-checker-2.3.all.bottle.1.tar.gz",
        "abi-compliance-checker",
        "2.3-1",
      ],
      [
        "ca-certificates",
        "all",
        "bottles/ca-certificates-2022-07-19_1.all.bottle.tar.gz",
        "ca-certificates",
        "2022-07-19_1",
      ],
      ["rust", "arm64_sequoia", "bottles/rust-1.83.0_1.arm64_sequoia.bottle.tar.gz", "rust", "1.83.0_1"],
    ])("names %s for %s", (name, tag, key, image, reference) => {
      const [ref] = bottleRefs(real(name), [tag]);

      expect(ref).toMatchObject({ formula: name, tag, key, image, versionRebuild: reference });
      expect(ref?.manifestKey).toBe(`bottles/${image}/manifests/${reference}`);
      expect(ref?.sha256).toBe(real(name).bottle.stable?.files[tag]?.sha256);
    });

    it("returns nothing for a formula without bottles (abi-dumper)", () => {
      expect(bottleRefs(real("abi-dumper"), ["arm64_sequoia", "x86_64_linux"])).toEqual([]);
    });

    it("adds the `all` bottle to whatever tags are asked for", () => {
      const refs = bottleRefs(real("ca-certificates"), ["arm64_sequoia", "x86_64_linux"]);

      expect(refs.map((ref) => ref.tag)).toEqual(["all"]);
    });

    it("skips tags the formula has no bottle for", () => {
      const refs = bottleRefs(real("a2ps"), ["arm64_sequoia", "x86_64_linux"]);

      expect(refs.map((ref) => ref.tag)).toEqual(["x86_64_linux"]);
    });

    it("agrees with the file names a real flat mirror serves (tuna's url fields of wget and rust)", () => {
      for (const name of ["wget", "rust"]) {
        const formula = real(name);
        const files = formula.bottle.stable?.files ?? {};
        const refs = bottleRefs(formula, Object.keys(files));
        expect(refs.length).toBeGreaterThan(0);
        for (const ref of refs) {
          const url = files[ref.tag]?.url ?? "";
          expect(`bottles/${url.split("/").pop()}`).toBe(ref.key);
        }
      }
    });

    it("agrees with the image paths of the real ghcr.io urls", () => {
      for (const { formula } of sample.entries) {
        for (const ref of bottleRefs(formula, Object.keys(formula.bottle.stable?.files ?? {}))) {
          const url = formula.bottle.stable?.files[ref.tag]?.url ?? "";
          const match = /^https:\/\/ghcr\.io\/v2\/homebrew\/core\/(.+)\/blobs\/sha256:([0-9a-f]{64})$/.exec(
            url,
          );
          if (!match) continue;
          expect(match[1]).toBe(ref.image);
          expect(match[2]).toBe(ref.sha256);
        }
      }
    });
  });

  describe("pkgVersion", () => {
    it("appends the revision only when it is > 0", () => {
      expect(pkgVersion(real("aalib"))).toBe("1.4rc5_2");
      expect(pkgVersion(real("openssl@3"))).toBe("3.0.5");
    });

    it("refuses a formula without a stable version", () => {
      expect(() => pkgVersion({ versions: { stable: null }, revision: 0 })).toThrow(/no stable version/);
    });
  });

  describe("synthetic names with +", () => {
    it("maps + to x in the image and percent-encodes it in the URL segment", () => {
      expect(imageName("libstdc++")).toBe("libstdcxx");
      expect(urlEncodeSegment(bottleFilename("libstdc++", "14.2.0", "x86_64_linux", 0))).toBe(
        "libstdc%2B%2B-14.2.0.x86_64_linux.bottle.tar.gz",
      );
    });
  });

  describe("urlEncodeSegment", () => {
    it.each([
      ["openssl@3-3.0.5.arm64_monterey.bottle.tar.gz", "openssl%403-3.0.5.arm64_monterey.bottle.tar.gz"],
      ["ca-certificates-2022-07-19_1.all.bottle.tar.gz", "ca-certificates-2022-07-19_1.all.bottle.tar.gz"],
      ["a b/c", "a%20b%2Fc"],
      ["tilde~ok", "tilde~ok"],
      ["é", "%C3%A9"],
    ])("encodes %s as %s", (input, expected) => {
      expect(urlEncodeSegment(input)).toBe(expected);
      expect(decodeURIComponent(urlEncodeSegment(input))).toBe(input);
    });
  });

  describe("versionRebuild", () => {
    it("adds -rebuild only when rebuild > 0", () => {
      expect(versionRebuild("4.14", 4)).toBe("4.14-4");
      expect(versionRebuild("4.14", 0)).toBe("4.14");
    });
  });
});
