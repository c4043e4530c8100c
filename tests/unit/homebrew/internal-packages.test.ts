import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseInternalPackages, renderInternalPackages } from "../../../src/homebrew/internal-packages.ts";

const GOLDEN = new URL("../../fixtures/homebrew/internal-api/", import.meta.url);
const input = JSON.parse(readFileSync(new URL("input.json", GOLDEN), "utf8")) as Record<string, unknown>[];
const goldenTags = readdirSync(GOLDEN)
  .map((file) => /^packages\.(.+)\.json$/.exec(file)?.[1])
  .filter((tag): tag is string => tag !== undefined)
  .sort();
const golden = (tag: string): string => readFileSync(new URL(`packages.${tag}.json`, GOLDEN), "utf8");

describe("homebrew/internal-packages", () => {
  describe("renderInternalPackages (the emulator's writer) against Homebrew's generator", () => {
    it("has golden files for Linux, current and older macOS tags", () => {
      expect(goldenTags).toEqual(
        expect.arrayContaining([
          "x86_64_linux",
          "arm64_linux",
          "arm64_tahoe",
          "arm64_sequoia",
          "sonoma",
          "catalina",
        ]),
      );
    });

    // The golden files are brew's own `generate_formula_struct_hash(hash, bottle_tag:).serialize(bottle_tag:)`
    // output for input.json (tests/fixtures/homebrew/internal-api/README.md has the command and brew commit).
    it.each(goldenTags)("writes packages.%s.json byte for byte as brew's generator did", (tag) => {
      const expected = golden(tag);
      const parsed = JSON.parse(expected) as {
        metadata: { homebrew_version: string; generated_at: number };
        formula_tap_git_head: string;
        cask_tap_git_head: string;
      };

      const written = renderInternalPackages(input, tag, {
        homebrewVersion: parsed.metadata.homebrew_version,
        generatedAt: parsed.metadata.generated_at,
        formulaTapGitHead: parsed.formula_tap_git_head,
        caskTapGitHead: parsed.cask_tap_git_head,
      });

      expect(written).toBe(expected);
    });
  });

  describe("parseInternalPackages", () => {
    it("reads the bottle brew chose, with bottle_tag naming an older macOS tag or all", () => {
      const parsed = parseInternalPackages(JSON.parse(golden("arm64_tahoe")), "arm64_tahoe");
      const entry = (name: string) => parsed.entries.find((candidate) => candidate.name === name);

      expect(parsed.rejected).toEqual([]);
      expect(entry("wget")?.bottle).toEqual({
        tag: "arm64_sequoia",
        sha256: "a93dd95c5d63036e026b526e000d33fae7fb44d9a8fda5afc89bff112438c6b3",
        cellar: "/opt/homebrew/Cellar",
      });
      expect(entry("ca-certificates")?.bottle?.tag).toBe("all");
      expect(entry("hbsync-old-mac")?.bottle?.tag).toBe("arm64_big_sur");
      expect(entry("abi-dumper")?.bottle).toBeNull();
      expect(entry("rust")).toMatchObject({ stableVersion: "1.83.0", revision: 1, rebuild: 0 });
      expect(entry("a2ps")).toMatchObject({ rebuild: 4 });
    });

    it("names the tag's own bottle when there is no bottle_tag", () => {
      const parsed = parseInternalPackages(JSON.parse(golden("x86_64_linux")), "x86_64_linux");

      expect(parsed.entries.find((entry) => entry.name === "openssl@3")?.bottle).toEqual({
        tag: "x86_64_linux",
        sha256: "9e4c842e82226949373f642476bc26ec7a04ed5e7714d6c4f8d79041eabd0220",
        cellar: "/home/linuxbrew/.linuxbrew/Cellar",
      });
    });

    it.each([
      { title: "a `../` name", formulae: { "../x": { stable_version: "1" } }, reason: "unsafe formula name" },
      { title: "a hostile version", formulae: { x: { stable_version: "../1" } }, reason: "stable_version" },
      {
        title: "a short digest",
        formulae: { x: { stable_version: "1", bottle_checksum: "abc" } },
        reason: "bottle_checksum",
      },
      {
        title: "a bottle_tag that is not a symbol",
        formulae: { x: { stable_version: "1", bottle_tag: "../x" } },
        reason: "bottle_tag",
      },
    ])("rejects $title by name, and keeps the rest", ({ formulae, reason }) => {
      const parsed = parseInternalPackages(
        { formulae: { ...formulae, ok: { stable_version: "1" } } },
        "x86_64_linux",
      );

      expect(parsed.entries.map((entry) => entry.name)).toEqual(["ok"]);
      expect(parsed.rejected).toHaveLength(1);
      expect(parsed.rejected[0]?.reason).toContain(reason);
    });

    it("refuses a file for another tag, or one that is not a packages file", () => {
      expect(() => parseInternalPackages(JSON.parse(golden("sonoma")), "arm64_sonoma")).toThrow(
        'metadata.bottle_tag is "sonoma", not arm64_sonoma',
      );
      expect(() => parseInternalPackages([1, 2], "sonoma")).toThrow("not an internal packages file");
    });
  });
});
