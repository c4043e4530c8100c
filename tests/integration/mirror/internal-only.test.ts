import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { syncMirror } from "../../../src/mirror/sync.ts";
import { verifyMirror } from "../../../src/mirror/verify.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { type TestEmulator, withEmulator } from "../../helpers/emulator.ts";
import { clientsFor, mirrorSettings, walkFiles } from "./helpers.ts";

// brew 6 reads only internal/packages.<tag>.jws.json: an upstream that serves those without the v1
// formula.jws.json still gives a complete mirror of the tags it has files for, and the same one.
const OPTIONS = { synthetic: { formulae: 10, tags: ["arm64_sequoia", "x86_64_linux"] } };
const TAGS = ["arm64_sequoia", "x86_64_linux"];

describe("mirror/sync from an upstream without formula.jws.json (emulator on loopback)", () => {
  const full = withEmulator(OPTIONS);
  const internalOnly = withEmulator({ ...OPTIONS, formulaIndex: false });
  const partial = withEmulator({ ...OPTIONS, formulaIndex: false, internalTags: ["arm64_sequoia"] });
  let workdir = "";

  beforeEach(async () => {
    workdir = await mkdtemp(join(tmpdir(), "hbsync-internal-only-"));
  });
  afterEach(async () => {
    await rm(workdir, { recursive: true, force: true });
  });

  const sync = (emulator: TestEmulator, root: string, runId: string, tags = TAGS) =>
    syncMirror({
      store: new FsStore(root),
      ...clientsFor(emulator),
      settings: mirrorSettings({ tags }),
      runId,
      retry: { retries: 1, baseMs: 5, maxMs: 20 },
    });

  it("plans every tag from its per-tag file: the same bottles as with formula.json, and verify passes", async () => {
    const withIndex = join(workdir, "with-index");
    const withoutIndex = join(workdir, "without-index");
    await sync(full(), withIndex, "with");

    const { report } = await sync(internalOnly(), withoutIndex, "without");

    expect(report.status).toBe("succeeded");
    expect(report.counts.formulae).toBe(0);
    expect(report.counts.transferred).toBeGreaterThan(10);
    const bottles = async (root: string) => (await walkFiles(join(root, "bottles"))).sort();
    expect(await bottles(withoutIndex)).toEqual(await bottles(withIndex));
    const api = await walkFiles(join(withoutIndex, "api"));
    expect(api).not.toContain("formula.jws.json");
    expect(api).toEqual(expect.arrayContaining(TAGS.map((tag) => `internal/packages.${tag}.jws.json`)));
    expect((await verifyMirror({ store: new FsStore(withoutIndex) })).problems).toEqual([]);
  });

  it("refuses to plan a tag that has no per-tag file when formula.jws.json is missing too; writes nothing", async () => {
    const root = join(workdir, "partial");

    await expect(sync(partial(), root, "partial")).rejects.toThrow(
      /no formula\.jws\.json and no internal\/packages file for x86_64_linux/,
    );
    expect(await walkFiles(root)).toEqual([]);
  });

  it("removes a formula.jws.json the upstream stopped serving, after publishing the fresh files", async () => {
    const root = join(workdir, "transition");
    const upstream = full();
    await sync(upstream, root, "before");
    expect(await walkFiles(join(root, "api"))).toContain("formula.jws.json");
    const removed = upstream.index.files.get("formula.jws.json");
    expect(removed).toBeDefined();
    upstream.index.files.delete("formula.jws.json");
    try {
      const { report } = await sync(upstream, root, "after");

      expect(report.status).toBe("succeeded");
      expect(report.counts.apiRemoved).toBe(1);
      expect(await walkFiles(join(root, "api"))).not.toContain("formula.jws.json");
      expect((await verifyMirror({ store: new FsStore(root) })).problems).toEqual([]);
      const again = await sync(upstream, root, "again");
      expect(again.report.counts.apiRemoved).toBe(0);
    } finally {
      if (removed) upstream.index.files.set("formula.jws.json", removed);
    }
  });
});
