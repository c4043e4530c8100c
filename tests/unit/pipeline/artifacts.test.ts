import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { artifactsAvailable, parseBuildManifest } from "../../../src/pipeline/artifacts.ts";
import { PipelineError } from "../../../src/pipeline/errors.ts";
import { FsStore } from "../../../src/storage/fs.ts";

const SHA = "a".repeat(64);

describe("artifacts", () => {
  describe("parseBuildManifest", () => {
    it("reads a list of {name, sha256}", () => {
      expect(
        parseBuildManifest(
          JSON.stringify({ version: "v1", artifacts: [{ name: "worker.zip", sha256: SHA }] }),
        ),
      ).toEqual({
        version: "v1",
        artifacts: [{ name: "worker.zip", sha256: SHA }],
      });
    });

    it("reads a map of name → sha256 or {sha256}", () => {
      const manifest = parseBuildManifest(
        JSON.stringify({ files: { "a.zip": SHA, "b.zip": { sha256: SHA, size: 3 } } }),
      );
      expect(manifest.artifacts.map((a) => a.name)).toEqual(["a.zip", "b.zip"]);
      expect(manifest.version).toBeUndefined();
    });

    it("rejects JSON that is not a manifest with HBS-BLD-001", () => {
      expect(() => parseBuildManifest("{not json")).toThrow(PipelineError);
      expect(() =>
        parseBuildManifest(JSON.stringify({ artifacts: [{ name: "x", sha256: "short" }] })),
      ).toThrow(/HBS-BLD-001.*x has no valid sha256/);
    });
  });

  describe("artifactsAvailable", () => {
    let dir: string;
    let store: FsStore;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "hbsync-artifacts-"));
      store = new FsStore(dir);
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("accepts a version whose manifest.json is in the store", async () => {
      await store.put("artifacts/v1/manifest.json", "{}");
      expect((await artifactsAvailable(store, "v1", [])).available).toBe(true);
    });

    it("accepts a version whose recorded artifacts all exist, and names the first missing one otherwise", async () => {
      await store.put("artifacts/v2/worker.zip", "w");
      const recorded = [
        { name: "worker.zip", sha256: SHA },
        { name: "orchestrator.zip", sha256: SHA },
      ];
      const missing = await artifactsAvailable(store, "v2", recorded);
      expect(missing.available).toBe(false);
      expect(missing.reason).toContain("artifacts/v2/orchestrator.zip not found");
      await store.put("artifacts/v2/orchestrator.zip", "o");
      expect((await artifactsAvailable(store, "v2", recorded)).available).toBe(true);
    });

    it("refuses a version with nothing in the store", async () => {
      expect(await artifactsAvailable(store, "v3", [])).toMatchObject({ available: false });
    });
  });
});
