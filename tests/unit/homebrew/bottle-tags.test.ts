import { describe, expect, it } from "vitest";
import {
  bottleFileFor,
  canonicalTag,
  compareVersions,
  parseTag,
  VALID_OS_ARCH_TAGS,
} from "../../../src/homebrew/bottle-tags.ts";

describe("homebrew/bottle-tags", () => {
  describe("parseTag / canonicalTag", () => {
    it.each([
      ["arm64_sequoia", { system: "sequoia", arch: "arm64" }, "arm64_sequoia"],
      ["sonoma", { system: "sonoma", arch: "x86_64" }, "sonoma"],
      ["x86_64_linux", { system: "linux", arch: "x86_64" }, "x86_64_linux"],
      ["aarch64_linux", { system: "linux", arch: "arm64" }, "arm64_linux"],
      ["all", { system: "all", arch: "all" }, "all"],
    ])("%s", (tag, parsed, canonical) => {
      expect(parseTag(tag)).toEqual(parsed);
      expect(canonicalTag(tag)).toBe(canonical);
    });

    it("refuses what brew's Tag.from_symbol refuses", () => {
      expect(parseTag("../x")).toBeNull();
      expect(bottleFileFor(["arm64_sequoia"], "../x")).toBeNull();
    });
  });

  describe("bottleFileFor (Collector#specification_for as on macOS)", () => {
    const files = ["arm64_sequoia", "arm64_sonoma", "sonoma", "ventura", "x86_64_linux"];

    it.each([
      { tag: "arm64_sonoma", expected: "arm64_sonoma", why: "the tag itself" },
      { tag: "arm64_tahoe", expected: "arm64_sequoia", why: "the first listed older tag of the same arch" },
      { tag: "tahoe", expected: "sonoma", why: "intel falls back to intel only" },
      { tag: "sequoia", expected: "sonoma", why: "…an older intel one" },
      { tag: "monterey", expected: null, why: "nothing as old" },
      { tag: "arm64_linux", expected: null, why: "Linux never falls back" },
    ])("$tag → $expected ($why)", ({ tag, expected }) => {
      expect(bottleFileFor(files, tag)).toBe(expected);
    });

    it("prefers `all` to an older macOS bottle, and uses it on Linux", () => {
      expect(bottleFileFor(["arm64_sonoma", "all"], "arm64_sequoia")).toBe("all");
      expect(bottleFileFor(["all"], "x86_64_linux")).toBe("all");
    });

    it("ignores listed tags that brew 6 no longer knows as macOS releases", () => {
      expect(bottleFileFor(["mojave", "high_sierra"], "catalina")).toBeNull();
      expect(bottleFileFor(["mojave", "catalina"], "sonoma")).toBe("catalina");
    });
  });

  it("lists the tags `brew generate-internal-api` writes (arm only from big_sur)", () => {
    expect(VALID_OS_ARCH_TAGS).toContain("arm64_tahoe");
    expect(VALID_OS_ARCH_TAGS).toContain("catalina");
    expect(VALID_OS_ARCH_TAGS).not.toContain("arm64_catalina");
    expect(VALID_OS_ARCH_TAGS.slice(-2)).toEqual(["x86_64_linux", "arm64_linux"]);
    expect(VALID_OS_ARCH_TAGS).toHaveLength(17);
  });

  it("compares macOS versions numerically", () => {
    expect(compareVersions("10.15", "11")).toBeLessThan(0);
    expect(compareVersions("26", "15")).toBeGreaterThan(0);
    expect(compareVersions("14", "14.0")).toBe(0);
  });
});
