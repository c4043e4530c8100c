import { describe, expect, it } from "vitest";
import type { FormulaInfo } from "../../../src/homebrew/types.ts";
import { bytesByTag, planSync, selectFormulae } from "../../../src/mirror/plan.ts";
import type { MirrorState, StateEntry } from "../../../src/mirror/state.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);
const NOW = new Date("2026-03-10T00:00:00.000Z");

function formula(
  name: string,
  files: Record<string, string>,
  extra: { version?: string; revision?: number; rebuild?: number; dependencies?: string[] } = {},
): FormulaInfo {
  return {
    name,
    versions: { stable: extra.version ?? "1.0" },
    revision: extra.revision ?? 0,
    dependencies: extra.dependencies ?? [],
    bottle: {
      stable: {
        rebuild: extra.rebuild ?? 0,
        files: Object.fromEntries(
          Object.entries(files).map(([tag, sha256]) => [tag, { cellar: ":any", sha256 }]),
        ),
      },
    },
  };
}

function entry(sha256: string, tag: string, extra: Partial<StateEntry> = {}): StateEntry {
  return { sha256, size: 10, formula: "x", tag, syncedAt: "2026-01-01T00:00:00.000Z", ...extra };
}

function state(entries: Record<string, StateEntry>, manifests: Record<string, StateEntry> = {}): MirrorState {
  return { version: 1, updatedAt: "2026-01-01T00:00:00.000Z", entries, manifests };
}

const base = { tags: ["arm64_sequoia"], now: NOW, retentionDays: 7 };

describe("mirror/plan", () => {
  describe("planSync", () => {
    it.each([
      {
        title: "transfers every bottle of an empty mirror, plus `all` bottles",
        formulae: [formula("wget", { arm64_sequoia: A, sonoma: B }), formula("ca-certificates", { all: C })],
        mirror: state({}),
        transfers: [
          "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz",
          "bottles/ca-certificates-1.0.all.bottle.tar.gz",
        ],
        keeps: [],
      },
      {
        title: "keeps a bottle the state holds with the same sha256",
        formulae: [formula("wget", { arm64_sequoia: A })],
        mirror: state({ "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz": entry(A, "arm64_sequoia") }),
        transfers: [],
        keeps: ["bottles/wget-1.0.arm64_sequoia.bottle.tar.gz"],
      },
      {
        title: "re-transfers a key whose sha256 changed upstream",
        formulae: [formula("wget", { arm64_sequoia: B })],
        mirror: state({ "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz": entry(A, "arm64_sequoia") }),
        transfers: ["bottles/wget-1.0.arm64_sequoia.bottle.tar.gz"],
        keeps: [],
      },
      {
        title: "names revision and rebuild as brew does",
        formulae: [formula("rust", { arm64_sequoia: A }, { version: "1.83.0", revision: 1, rebuild: 2 })],
        mirror: state({}),
        transfers: ["bottles/rust-1.83.0_1.arm64_sequoia.bottle.2.tar.gz"],
        keeps: [],
      },
      {
        title: "skips formulae without bottles",
        formulae: [{ name: "nobottle", versions: { stable: "1" }, revision: 0, bottle: {} }],
        mirror: state({}),
        transfers: [],
        keeps: [],
      },
    ])("$title", ({ formulae, mirror, transfers, keeps }) => {
      const plan = planSync({ ...base, formulae, state: mirror });

      expect(plan.transfers.map((transfer) => transfer.key)).toEqual(transfers);
      expect(plan.keeps).toEqual(keeps);
      expect(plan.rejected).toEqual([]);
    });

    it("supersedes entries the index no longer names, and prunes only those past the retention", () => {
      const mirror = state({
        "bottles/old-1.0.arm64_sequoia.bottle.tar.gz": entry(A, "arm64_sequoia"),
        "bottles/older-1.0.arm64_sequoia.bottle.tar.gz": entry(A, "arm64_sequoia", {
          supersededAt: "2026-03-01T00:00:00.000Z",
        }),
        "bottles/recent-1.0.arm64_sequoia.bottle.tar.gz": entry(A, "arm64_sequoia", {
          supersededAt: "2026-03-05T00:00:00.000Z",
        }),
      });

      const plan = planSync({ ...base, formulae: [], state: mirror });

      expect(plan.supersede).toEqual(["bottles/old-1.0.arm64_sequoia.bottle.tar.gz"]);
      expect(plan.prunes).toEqual(["bottles/older-1.0.arm64_sequoia.bottle.tar.gz"]);
    });

    it("keeps (revives) a superseded entry the index names again", () => {
      const key = "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz";
      const mirror = state({
        [key]: entry(A, "arm64_sequoia", { supersededAt: "2026-01-01T00:00:00.000Z" }),
      });

      const plan = planSync({ ...base, formulae: [formula("wget", { arm64_sequoia: A })], state: mirror });

      expect(plan.keeps).toEqual([key]);
      expect(plan.prunes).toEqual([]);
    });

    it("plans a manifest for each transferred image and for stored-but-unrecorded manifests only", () => {
      const formulae = [
        formula("openssl@3", { arm64_sequoia: A }),
        formula("wget", { arm64_sequoia: B }),
        formula("zlib", { arm64_sequoia: C }),
      ];
      const mirror = state(
        {
          "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz": entry(B, "arm64_sequoia"),
          "bottles/zlib-1.0.arm64_sequoia.bottle.tar.gz": entry(C, "arm64_sequoia"),
        },
        { "bottles/wget/manifests/1.0": entry(A, "manifest") },
      );

      const plan = planSync({ ...base, formulae, state: mirror });

      expect(plan.manifests.map((manifest) => manifest.key)).toEqual([
        "bottles/openssl/3/manifests/1.0",
        "bottles/zlib/manifests/1.0",
      ]);
      expect(plan.manifestKeeps).toEqual(["bottles/wget/manifests/1.0"]);
    });

    it.each([
      { title: "a `../` name", name: "../../etc/passwd", sha256: A },
      { title: "a `/` name", name: "a/b", sha256: A },
      { title: "a NUL name", name: "a\u0000b", sha256: A },
      { title: "a dot-dot name", name: "a..b", sha256: A },
      { title: "a non-hex sha256", name: "ok", sha256: "zz".repeat(32) },
      { title: "an uppercase sha256", name: "ok", sha256: A.toUpperCase() },
      { title: "a short sha256", name: "ok", sha256: "abc" },
    ])("rejects $title and never plans it", ({ name, sha256 }) => {
      const plan = planSync({
        ...base,
        formulae: [formula(name, { arm64_sequoia: sha256 })],
        state: state({}),
      });

      expect(plan.transfers).toEqual([]);
      expect(plan.rejected).toHaveLength(1);
      expect(plan.rejected[0]?.name).toBe(name);
    });

    it("rejects a hostile version or tag", () => {
      const formulae = [formula("v", { arm64_sequoia: A }, { version: "../1" }), formula("t", { all: A })];
      const hostileTag = formula("t2", {});
      (hostileTag.bottle.stable as { files: Record<string, unknown> }).files["../x"] = { sha256: A };

      const plan = planSync({
        ...base,
        tags: ["arm64_sequoia", "../x"],
        formulae: [...formulae, hostileTag],
        state: state({}),
      });

      expect(plan.rejected.map((rejected) => rejected.name)).toEqual(["v", "t2"]);
      expect(plan.transfers.map((transfer) => transfer.key)).toEqual(["bottles/t-1.0.all.bottle.tar.gz"]);
    });

    it("rejects a duplicate formula name instead of planning it twice", () => {
      const plan = planSync({
        ...base,
        formulae: [formula("wget", { arm64_sequoia: A }), formula("wget", { arm64_sequoia: B })],
        state: state({}),
      });

      expect(plan.transfers.map((transfer) => transfer.sha256)).toEqual([A]);
      expect(plan.rejected).toEqual([{ name: "wget", reason: "duplicate formula name in the index" }]);
    });
  });

  describe("selectFormulae", () => {
    const formulae = [
      formula("wget", {}, { dependencies: ["openssl@3", "libidn2"] }),
      formula("openssl@3", {}, { dependencies: ["ca-certificates"] }),
      formula("ca-certificates", {}),
      formula("libidn2", {}),
      formula("llvm", {}),
      formula("llvm@18", {}),
    ];
    const names = (list: FormulaInfo[]): string[] => list.map((item) => item.name);

    it.each([
      {
        include: [],
        exclude: [],
        expected: ["wget", "openssl@3", "ca-certificates", "libidn2", "llvm", "llvm@18"],
      },
      { include: [], exclude: ["llvm*"], expected: ["wget", "openssl@3", "ca-certificates", "libidn2"] },
      { include: ["wget"], exclude: [], expected: ["wget", "openssl@3", "ca-certificates", "libidn2"] },
      { include: ["wget"], exclude: ["libidn2"], expected: ["wget", "openssl@3", "ca-certificates"] },
      { include: ["llvm@*"], exclude: [], expected: ["llvm@18"] },
    ])("include $include, exclude $exclude", ({ include, exclude, expected }) => {
      expect(names(selectFormulae(formulae, include, exclude))).toEqual(expected);
    });
  });

  describe("bytesByTag", () => {
    it("sums known sizes per tag and counts unknown ones", () => {
      const plan = planSync({
        ...base,
        tags: ["arm64_sequoia", "x86_64_linux"],
        formulae: [formula("a", { arm64_sequoia: A, x86_64_linux: B }), formula("b", { arm64_sequoia: C })],
        state: state({}),
      });
      const sized = plan.transfers.map((transfer, index) =>
        index === 2 ? transfer : { ...transfer, size: 100 },
      );

      expect(bytesByTag(sized)).toEqual({
        arm64_sequoia: { bottles: 2, bytes: 100, unknownSizes: 1 },
        x86_64_linux: { bottles: 1, bytes: 100, unknownSizes: 0 },
      });
    });
  });
});
