import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  chainTo,
  dependencyClosure,
  formulaDependencies,
  packageDependencies,
} from "../../../src/homebrew/dependencies.ts";
import { parseInternalPackages } from "../../../src/homebrew/internal-packages.ts";

const FIXTURES = new URL("../../fixtures/homebrew/", import.meta.url);
const sample = JSON.parse(readFileSync(new URL("formula-sample.json", FIXTURES), "utf8")) as {
  entries: Array<{ formula: Record<string, unknown> }>;
};
const openssl = JSON.parse(readFileSync(new URL("openssl@3.json", FIXTURES), "utf8")) as Record<
  string,
  unknown
>;
const real = (name: string): Record<string, unknown> => {
  if (name === "openssl@3") return openssl;
  const entry = sample.entries.find((candidate) => candidate.formula.name === name);
  if (!entry) throw new Error(`fixture has no ${name}`);
  return entry.formula;
};
const golden = (tag: string) =>
  parseInternalPackages(
    JSON.parse(readFileSync(new URL(`internal-api/packages.${tag}.json`, FIXTURES), "utf8")),
    tag,
  );

// What brew installs with each real formula's bottle (FormulaInstaller when pouring): declared and
// recommended dependencies; on Linux also `uses_from_macos` ones; never build/test-only ones.
const TABLE = [
  {
    name: "wget",
    tag: "x86_64_linux",
    expected: ["libidn2", "openssl@3", "gettext", "libunistring", "zlib"],
    why: "uses_from_macos zlib is a real dependency on Linux; build-only pkgconf is not",
  },
  {
    name: "wget",
    tag: "arm64_sonoma",
    expected: ["libidn2", "openssl@3", "gettext", "libunistring"],
    why: "macOS provides zlib (no since: bound)",
  },
  {
    name: "rust",
    tag: "x86_64_linux",
    expected: ["libgit2@1.8", "libssh2", "llvm", "openssl@3", "pkgconf", "zstd", "curl", "zlib"],
    why: "uses_from_macos curl and zlib, not {python: build}; the :macos requirement is no formula",
  },
  {
    name: "rust",
    tag: "arm64_sonoma",
    expected: ["libgit2@1.8", "libssh2", "llvm", "openssl@3", "pkgconf", "zstd"],
    why: "macOS provides curl and zlib",
  },
  {
    name: "abi-compliance-checker",
    tag: "x86_64_linux",
    expected: ["gcc", "perl"],
    why: "perl from uses_from_macos",
  },
  {
    name: "abi-compliance-checker",
    tag: "arm64_sonoma",
    expected: ["gcc"],
    why: "the :arch requirement is no formula",
  },
  {
    name: "openssl@3",
    tag: "x86_64_linux",
    expected: ["ca-certificates"],
    why: "its Linux variation changes keg_only only",
  },
  { name: "openssl@3", tag: "arm64_sonoma", expected: ["ca-certificates"], why: "" },
];

describe("homebrew/dependencies", () => {
  describe("formulaDependencies (formula.json) and packageDependencies (internal/packages.<tag>)", () => {
    it.each(TABLE)("$name on $tag: $expected ($why)", ({ name, tag, expected }) => {
      const entry = golden(tag).entries.find((candidate) => candidate.name === name);
      if (!entry) throw new Error(`golden packages.${tag} has no ${name}`);

      expect(formulaDependencies(real(name), tag)).toEqual(expected);
      expect(packageDependencies(entry.dependencies, entry.usesFromMacos, tag)).toEqual(expected);
    });

    it("merges variations.<tag> before reading dependencies", () => {
      const entry = {
        name: "x",
        dependencies: ["a"],
        uses_from_macos: ["z"],
        variations: { x86_64_linux: { dependencies: ["a", "glibc"], uses_from_macos: [] } },
      };

      expect(formulaDependencies(entry, "x86_64_linux")).toEqual(["a", "glibc"]);
      expect(formulaDependencies(entry, "arm64_linux")).toEqual(["a", "z"]);
    });

    it("takes a uses_from_macos entry on macOS only when its since: bound is newer than the tag", () => {
      const entry = {
        name: "x",
        uses_from_macos: ["curl", { llvm: ["build", "test"] }, "perl"],
        uses_from_macos_bounds: [{ since: "sonoma" }, { since: "tahoe" }, {}],
      };

      expect(formulaDependencies(entry, "arm64_ventura")).toEqual(["curl"]);
      expect(formulaDependencies(entry, "arm64_sonoma")).toEqual([]);
      expect(formulaDependencies(entry, "x86_64_linux")).toEqual(["curl", "perl"]);
    });

    it("reads the crafted entry brew serialised (types, requirements, bounds) the same way", () => {
      for (const tag of ["x86_64_linux", "arm64_sonoma", "catalina"]) {
        const edge = golden(tag).entries.find((candidate) => candidate.name === "hbsync-edge");
        if (!edge) throw new Error("no hbsync-edge");
        const input = JSON.parse(readFileSync(new URL("internal-api/edge-cases.json", FIXTURES), "utf8")) as {
          entries: Array<Record<string, unknown>>;
        };
        const entry = input.entries.find((candidate) => candidate.name === "hbsync-edge") ?? {};

        expect(packageDependencies(edge.dependencies, edge.usesFromMacos, tag)).toEqual(
          formulaDependencies(entry, tag),
        );
      }
    });
  });

  describe("dependencyClosure", () => {
    const index = new Map([
      ["wget", ["openssl@3", "libidn2", "zlib"]],
      ["openssl@3", ["ca-certificates"]],
      ["ca-certificates", []],
      ["zlib", []],
    ]);

    it("walks transitively, remembers who pulled each formula in, and names what the index lacks", () => {
      const closure = dependencyClosure(["wget"], (name) => index.get(name));

      expect([...closure.via]).toEqual([
        ["wget", null],
        ["openssl@3", "wget"],
        ["zlib", "wget"],
        ["ca-certificates", "openssl@3"],
      ]);
      expect([...closure.missing]).toEqual([["libidn2", ["wget"]]]);
      expect(chainTo(closure, "ca-certificates")).toEqual(["wget", "openssl@3", "ca-certificates"]);
      expect(chainTo(closure, "libidn2")).toEqual([]);
    });

    it("stops at excluded names and reports who needed them", () => {
      const closure = dependencyClosure(
        ["wget"],
        (name) => index.get(name),
        (name) => name === "openssl@3",
      );

      expect([...closure.via.keys()]).toEqual(["wget", "zlib"]);
      expect([...closure.excluded]).toEqual([["openssl@3", ["wget"]]]);
    });

    it("survives a dependency cycle", () => {
      const cycle = new Map([
        ["a", ["b"]],
        ["b", ["a"]],
      ]);

      expect([...dependencyClosure(["a"], (name) => cycle.get(name)).via.keys()]).toEqual(["a", "b"]);
    });
  });
});
