import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ParsedPackages, parseInternalPackages } from "../../../src/homebrew/internal-packages.ts";
import type { FormulaInfo } from "../../../src/homebrew/types.ts";
import {
  bytesByTag,
  explainFormula,
  type PlanInput,
  planSync,
  type SyncPlan,
  selectFormulae,
} from "../../../src/mirror/plan.ts";
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

describe("mirror/plan per tag, as brew pours", () => {
  const FIXTURES = new URL("../../fixtures/homebrew/", import.meta.url);
  const input = JSON.parse(
    readFileSync(new URL("internal-api/input.json", FIXTURES), "utf8"),
  ) as FormulaInfo[];
  // The real fixture entries (the first 19 of input.json: what the golden packages files were generated from).
  const fixtures = input.filter((entry) => !/^(synth|hbsync-)/.test(entry.name));
  const packages = (tag: string): ParsedPackages =>
    parseInternalPackages(
      JSON.parse(readFileSync(new URL(`internal-api/packages.${tag}.json`, FIXTURES), "utf8")),
      tag,
    );
  const planned = (plan: SyncPlan): string[] =>
    plan.transfers.map((transfer) => transfer.key.slice("bottles/".length));

  describe("selection by dependency closure on the real fixture entries", () => {
    it.each([
      {
        include: ["wget"],
        tag: "x86_64_linux",
        mirrored: [
          "openssl@3-3.0.5.x86_64_linux.bottle.tar.gz",
          "ca-certificates-2022-07-19_1.all.bottle.tar.gz",
          "wget-1.25.0.x86_64_linux.bottle.tar.gz",
        ],
        missing: ["libidn2", "gettext", "libunistring", "zlib"],
      },
      {
        include: ["wget"],
        tag: "arm64_sonoma",
        mirrored: [
          "openssl@3-3.0.5.arm64_monterey.bottle.tar.gz",
          "ca-certificates-2022-07-19_1.all.bottle.tar.gz",
          "wget-1.25.0.arm64_sonoma.bottle.tar.gz",
        ],
        missing: ["libidn2", "gettext", "libunistring"],
      },
      {
        include: ["rust"],
        tag: "x86_64_linux",
        mirrored: [
          "openssl@3-3.0.5.x86_64_linux.bottle.tar.gz",
          "ca-certificates-2022-07-19_1.all.bottle.tar.gz",
          "rust-1.83.0_1.x86_64_linux.bottle.tar.gz",
        ],
        missing: ["libgit2@1.8", "libssh2", "llvm", "pkgconf", "zstd", "curl", "zlib"],
      },
      {
        include: ["abi-compliance-checker"],
        tag: "x86_64_linux",
        mirrored: ["abi-compliance-checker-2.3.all.bottle.1.tar.gz"],
        missing: ["gcc", "perl"],
      },
      {
        include: ["abi-compliance-checker"],
        tag: "arm64_sonoma",
        mirrored: ["abi-compliance-checker-2.3.all.bottle.1.tar.gz"],
        missing: ["gcc"],
      },
      {
        include: ["openssl@3"],
        tag: "x86_64_linux",
        mirrored: [
          "openssl@3-3.0.5.x86_64_linux.bottle.tar.gz",
          "ca-certificates-2022-07-19_1.all.bottle.tar.gz",
        ],
        missing: [],
      },
    ])("include $include on $tag", ({ include, tag, mirrored, missing }) => {
      for (const internal of [undefined, new Map([[tag, packages(tag)]])]) {
        const plan = planSync({
          ...base,
          tags: [tag],
          include,
          formulae: fixtures,
          state: state({}),
          ...(internal ? { internal } : {}),
        });

        expect(planned(plan).sort()).toEqual([...mirrored].sort());
        expect((plan.missingDependencies ?? []).map((dependency) => dependency.name)).toEqual(missing);
        expect(plan.sources).toEqual({ [tag]: internal ? "internal" : "formula.json" });
      }
    });

    it("names who needs a missing dependency, and on which tags", () => {
      const plan = planSync({
        ...base,
        tags: ["x86_64_linux", "arm64_sonoma"],
        include: ["wget", "rust"],
        formulae: fixtures,
        state: state({}),
      });

      expect(plan.missingDependencies?.find((dependency) => dependency.name === "zlib")).toEqual({
        name: "zlib",
        requiredBy: ["wget", "rust"],
        tags: ["x86_64_linux"],
      });
    });

    it("follows variations.<tag>, and leaves build-only dependencies out", () => {
      const formulae = [
        formula("app", { x86_64_linux: A, arm64_sonoma: A }, { dependencies: ["lib"] }),
        formula("lib", { x86_64_linux: B, arm64_sonoma: B }),
        formula("glibc", { x86_64_linux: C }),
        formula("cmake", { x86_64_linux: C, arm64_sonoma: C }),
      ];
      Object.assign(formulae[0] as FormulaInfo, {
        build_dependencies: ["cmake"],
        variations: { x86_64_linux: { dependencies: ["lib", "glibc"] } },
      });

      const plan = planSync({
        ...base,
        tags: ["x86_64_linux", "arm64_sonoma"],
        include: ["app"],
        formulae,
        state: state({}),
      });

      expect(planned(plan)).toEqual([
        "app-1.0.x86_64_linux.bottle.tar.gz",
        "app-1.0.arm64_sonoma.bottle.tar.gz",
        "lib-1.0.x86_64_linux.bottle.tar.gz",
        "lib-1.0.arm64_sonoma.bottle.tar.gz",
        "glibc-1.0.x86_64_linux.bottle.tar.gz",
      ]);
    });
  });

  describe("planning from internal/packages.<tag>", () => {
    it("plans from the per-tag file alone, with the older macOS bottle it names, though that tag is not configured", () => {
      const plan = planSync({
        ...base,
        tags: ["arm64_tahoe"],
        include: ["wget"],
        formulae: [],
        internal: new Map([["arm64_tahoe", packages("arm64_tahoe")]]),
        state: state({}),
      });

      expect(planned(plan).sort()).toEqual([
        "ca-certificates-2022-07-19_1.all.bottle.tar.gz",
        "openssl@3-3.0.5.arm64_monterey.bottle.tar.gz",
        "wget-1.25.0.arm64_sequoia.bottle.tar.gz",
      ]);
      expect(plan.transfers.find((transfer) => transfer.formula === "wget")?.sha256).toBe(
        "a93dd95c5d63036e026b526e000d33fae7fb44d9a8fda5afc89bff112438c6b3",
      );
    });

    it("refuses an index whose formula.json and per-tag file disagree on a bottle's sha256", () => {
      const tampered = fixtures.map((entry) =>
        entry.name === "wget"
          ? {
              ...entry,
              bottle: {
                stable: {
                  ...(entry.bottle.stable as NonNullable<FormulaInfo["bottle"]["stable"]>),
                  files: { ...entry.bottle.stable?.files, arm64_sequoia: { cellar: ":any", sha256: A } },
                },
              },
            }
          : entry,
      );

      expect(() =>
        planSync({
          ...base,
          tags: ["arm64_tahoe"],
          formulae: tampered,
          internal: new Map([["arm64_tahoe", packages("arm64_tahoe")]]),
          state: state({}),
        }),
      ).toThrow(
        /formula\.json and internal\/packages\.arm64_tahoe disagree for 1 formula \(wget: the arm64_sequoia bottle's sha256 is a93dd95c.* in internal\/packages\.arm64_tahoe but a{64} in formula\.json\)/,
      );
    });

    it("also mirrors the bottle brew < 6 picks from formula.json when the per-tag file names none", () => {
      const linuxGenerated = packages("arm64_tahoe");
      const wget = linuxGenerated.entries.find((entry) => entry.name === "wget");
      if (wget) wget.bottle = null; // what a generator run on Linux (no older-macOS fallback) writes

      const plan = planSync({
        ...base,
        tags: ["arm64_tahoe"],
        include: ["wget"],
        formulae: fixtures,
        internal: new Map([["arm64_tahoe", linuxGenerated]]),
        state: state({}),
      });

      expect(planned(plan)).toContain("wget-1.25.0.arm64_sequoia.bottle.tar.gz");
    });

    it("reports a per-tag entry it refuses by name", () => {
      const parsed = parseInternalPackages(
        { formulae: { "../x": { stable_version: "1" }, ok: { stable_version: "1" } } },
        "x86_64_linux",
      );

      const plan = planSync({
        ...base,
        tags: ["x86_64_linux"],
        formulae: [],
        internal: new Map([["x86_64_linux", parsed]]),
        state: state({}),
      });

      expect(plan.rejected).toEqual([
        { name: "../x", reason: "internal/packages.x86_64_linux: unsafe formula name" },
      ]);
    });
  });

  describe("explainFormula", () => {
    const internal = new Map([
      ["x86_64_linux", packages("x86_64_linux")],
      ["arm64_sonoma", packages("arm64_sonoma")],
    ]);
    const explain = (name: string, extra: Partial<PlanInput> = {}) =>
      explainFormula(
        {
          ...base,
          tags: ["x86_64_linux", "arm64_sonoma"],
          include: ["wget"],
          formulae: fixtures,
          internal,
          state: state({}),
          ...extra,
        },
        name,
      );

    it("gives the chain of dependents that brings a formula in, and its bottle", () => {
      expect(explain("ca-certificates")[0]).toEqual({
        tag: "x86_64_linux",
        source: "internal",
        status: "mirrored",
        chain: ["wget", "openssl@3", "ca-certificates"],
        bottles: ["bottles/ca-certificates-2022-07-19_1.all.bottle.tar.gz"],
      });
    });

    it("says why not: missing from the index (and who needs it), excluded, not asked for", () => {
      expect(explain("zlib").map(({ tag, status, neededBy }) => ({ tag, status, neededBy }))).toEqual([
        { tag: "x86_64_linux", status: "not-in-index", neededBy: ["wget"] },
        { tag: "arm64_sonoma", status: "not-in-index", neededBy: [] },
      ]);
      expect(explain("openssl@3", { exclude: ["openssl@*"] })[0]).toMatchObject({
        status: "excluded",
        neededBy: ["wget"],
      });
      expect(explain("a2ps")[0]).toMatchObject({ status: "not-selected" });
    });
  });
});
