import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { StoredPlan } from "../../../src/mirror/prepare.ts";
import {
  claimMerge,
  foldParts,
  mergeClaimKey,
  partKey,
  readPart,
  type ShardPart,
  shardCount,
  shardOf,
  shardPlan,
} from "../../../src/mirror/shards.ts";
import { emptyState } from "../../../src/mirror/state.ts";
import { memoryStore } from "./memory-store.ts";

const GIB = 1024 ** 3;

/** Shard `shard`'s part of run "r", holding one bottle at `key`. */
function part(shard: number, key: string): ShardPart {
  return {
    version: 1,
    runId: "r",
    shard,
    count: 2,
    status: "succeeded",
    updatedAt: "t1",
    entries: { [key]: { sha256: key, size: 2, formula: key, tag: "all", syncedAt: "t1" } },
    manifests: {},
    counts: { transferred: 1, adopted: 0, failed: 0 },
    bytesTransferred: 2,
    transfersMs: 1,
  };
}

/**
 * A store holding shard 1's part of run "r", whose first `cuts` reads of it meet a write in progress
 * (s3rver's overwrites are not atomic: half the document); `reads()` counts the reads of the part.
 */
function cutPartStore(cuts: number, body: string = JSON.stringify(part(1, "bottles/b"))) {
  const key = partKey("r", 1);
  const store = memoryStore({ [key]: body });
  const get = store.get.bind(store);
  let reads = 0;
  store.get = async (asked, range) => {
    if (asked !== key) return get(asked, range);
    reads++;
    return reads <= cuts ? Readable.from([Buffer.from(body.slice(0, 17))]) : get(asked, range);
  };
  return { store, reads: () => reads };
}

/** A plan of `formulae` formulae with a bottle on each of two tags and one manifest each. */
function planOf(formulae: number): StoredPlan {
  const names = Array.from({ length: formulae }, (_, i) => (i % 5 === 0 ? `lib${i}@3` : `formula${i}`));
  const transfers = names.flatMap((name) =>
    ["x86_64_linux", "arm64_sonoma"].map((tag) => ({
      formula: name,
      tag,
      key: `bottles/${name}-1.0.${tag}.bottle.tar.gz`,
      filename: `${name}-1.0.${tag}.bottle.tar.gz`,
      sha256: `${name}-${tag}`.padEnd(64, "0"),
      image: name.replace("@", "/"),
      manifestKey: `bottles/${name.replace("@", "/")}/manifests/1.0`,
      size: 100,
    })),
  );
  return {
    version: 1,
    runId: "r",
    createdAt: "2026-12-01T00:00:00.000Z",
    location: "memory",
    settings: {
      tags: ["x86_64_linux", "arm64_sonoma"],
      include: [],
      exclude: [],
      retentionDays: 7,
      concurrency: { checkers: 2, transfers: 2 },
    },
    formulaeCount: formulae,
    transfers,
    keeps: ["bottles/kept-1.0.x86_64_linux.bottle.tar.gz"],
    manifests: names.map((name) => ({
      key: `bottles/${name.replace("@", "/")}/manifests/1.0`,
      formula: name,
      image: name.replace("@", "/"),
      versionRebuild: "1.0",
      bottles: transfers.filter((ref) => ref.formula === name).map(({ key, tag }) => ({ key, tag })),
    })),
    manifestKeeps: [],
    supersede: ["bottles/old-0.9.x86_64_linux.bottle.tar.gz"],
    prunes: ["bottles/older-0.8.x86_64_linux.bottle.tar.gz"],
    rejected: [],
    api: [{ key: "api/formula.jws.json", sha256: "a".repeat(64), size: 10 }],
    manifestErrors: [],
    totals: { bottles: transfers.length, bytes: transfers.length * 100, unknownSizes: 0 },
    byTag: [],
  } as unknown as StoredPlan;
}

describe("mirror/shards", () => {
  describe("shardOf", () => {
    it("puts every formula in one shard in range, the same one every time", () => {
      for (const name of ["wget", "openssl@3", "llvm", "a"]) {
        const shard = shardOf(name, 3);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(3);
        expect(shardOf(name, 3)).toBe(shard);
      }
      expect(shardOf("wget", 1)).toBe(0);
    });

    it("spreads 7,000 formulae within 5% of an even split over 4 shards", () => {
      const counts = [0, 0, 0, 0];
      for (let i = 0; i < 7000; i++)
        counts[shardOf(`formula-${i}`, 4)] = (counts[shardOf(`formula-${i}`, 4)] ?? 0) + 1;
      for (const count of counts) expect(Math.abs(count - 1750)).toBeLessThan(0.05 * 1750);
    });
  });

  describe("shardCount", () => {
    it.each([
      { bytes: 0, max: 4, expected: 1 },
      { bytes: 10 * GIB, max: 4, expected: 1 },
      { bytes: 50 * GIB, max: 4, expected: 1 },
      { bytes: 50 * GIB + 1, max: 4, expected: 2 },
      { bytes: 400 * GIB, max: 4, expected: 4 },
      { bytes: 400 * GIB, max: 1, expected: 1 },
    ])(
      "gives $bytes bytes $expected task(s) at 50 GiB per task, at most $max",
      ({ bytes, max, expected }) => {
        expect(shardCount(bytes, { maxTasks: max, bytesPerTask: 50 * GIB })).toBe(expected);
      },
    );
  });

  describe("shardPlan", () => {
    it("splits the transfers and manifests by formula, disjoint and complete, and leaves the API to the final step", () => {
      const plan = planOf(30);
      const shards = [0, 1, 2].map((index) => shardPlan(plan, { index, count: 3 }));

      const keys = shards.flatMap((shard) => shard.transfers.map((ref) => ref.key));
      expect(keys.sort()).toEqual(plan.transfers.map((ref) => ref.key).sort());
      expect(new Set(keys).size).toBe(keys.length);
      for (const [index, shard] of shards.entries()) {
        expect(shard.transfers.length).toBeGreaterThan(0);
        for (const ref of shard.transfers) expect(shardOf(ref.formula, 3)).toBe(index);
        for (const manifest of shard.manifests) expect(shardOf(manifest.formula, 3)).toBe(index);
        expect(shard.api).toEqual([]);
        expect(shard.keeps).toEqual([]);
        expect(shard.supersede).toEqual([]);
        expect(shard.prunes).toEqual([]);
        expect(shard.totals.bytes).toBe(shard.transfers.length * 100);
      }
      expect(shards.reduce((sum, shard) => sum + shard.manifests.length, 0)).toBe(plan.manifests.length);
    });
  });

  describe("foldParts", () => {
    it("adds what each part stored to the state, leaving the rest as it was", () => {
      const state = emptyState();
      state.entries["bottles/kept"] = { sha256: "k", size: 1, formula: "kept", tag: "all", syncedAt: "t0" };
      const folded = foldParts(state, [part(0, "bottles/a"), null, part(1, "bottles/b")]);

      expect(Object.keys(folded.entries).sort()).toEqual(["bottles/a", "bottles/b", "bottles/kept"]);
      expect(Object.keys(state.entries)).toEqual(["bottles/kept"]);
    });
  });

  describe("readPart", () => {
    it("reads a part again that reads back half-written (the merging shard's read met that shard's write)", async () => {
      const { store, reads } = cutPartStore(2);

      const read = await readPart(store, "r", 1);

      expect(read?.entries).toEqual(part(1, "bottles/b").entries);
      expect(reads()).toBe(3);
    });

    it("refuses a part that still does not parse after two more reads, naming the key and the fix", async () => {
      const { store, reads } = cutPartStore(Number.POSITIVE_INFINITY);

      const error = await readPart(store, "r", 1).then(
        () => expect.unreachable("an unreadable part"),
        (thrown: Error & { fix?: string }) => thrown,
      );

      expect(error.message).toMatch(/^_sync\/parts\/r\/1\.json is not a readable part: /);
      expect(error.fix).toBe("delete _sync/parts/r/1.json: the next run re-checks that shard's bottles");
      expect(reads()).toBe(3);
    });

    it("refuses another shard's part at once: it parses, so it is no write in progress", async () => {
      const { store, reads } = cutPartStore(0, JSON.stringify(part(2, "bottles/c")));

      await expect(readPart(store, "r", 1)).rejects.toThrow("is not a readable part: not this shard's");
      expect(reads()).toBe(1);
    });

    it("reads no part as null", async () => {
      expect(await readPart(memoryStore(), "r", 0)).toBeNull();
    });
  });

  describe("claimMerge", () => {
    it("claims the merge once, and reads its claim again when the read back meets a write in progress", async () => {
      const store = memoryStore();
      const get = store.get.bind(store);
      let cuts = 1;
      store.get = async (key, range) =>
        key === mergeClaimKey("r") && cuts-- > 0 ? Readable.from([Buffer.from('{"sha')]) : get(key, range);

      expect(await claimMerge(store, "r", 2)).toBe(true);
      expect(cuts).toBe(-1);
      expect(await claimMerge(store, "r", 0)).toBe(false);
    });
  });
});
