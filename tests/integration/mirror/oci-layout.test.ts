/**
 * mirror.layouts: [flat, oci] end to end: the emulator (an OCI registry with a signed API) → a sync →
 * a client that follows brew's HOMEBREW_ARTIFACT_DOMAIN rewrite (helpers.ts `brewArtifactUrl`) against
 * `hbsync serve` (a folder store, hard links) and against s3rver's plain GET endpoint (an S3 store,
 * server-side copies); prune, verify and verify --repair of both trees.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { ociBlobKey, ociManifestKey } from "../../../src/mirror/layouts.ts";
import type { MirrorSettings } from "../../../src/mirror/prepare.ts";
import { startServe } from "../../../src/mirror/serve.ts";
import { loadState } from "../../../src/mirror/state.ts";
import { syncMirror } from "../../../src/mirror/sync.ts";
import { verifyMirror } from "../../../src/mirror/verify.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { S3Store } from "../../../src/storage/s3.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";
import {
  assertServedLikeBrewOci,
  clientsFor,
  expectedBottles,
  mirrorSettings,
  TAGS,
  upstreamFlags,
  walkFiles,
} from "./helpers.ts";

const OCI: MirrorSettings["layouts"] = ["flat", "oci"];
const DAY = 24 * 60 * 60 * 1000;

describe("mirror.layouts: oci (emulator on loopback)", () => {
  const emulator = withEmulator({ synthetic: { formulae: 10, tags: ["arm64_sequoia", "x86_64_linux"] } });

  describe("into a folder, served by hbsync serve", () => {
    let workdir = "";
    let root = "";
    beforeEach(async () => {
      workdir = await mkdtemp(join(tmpdir(), "hbsync-oci-fs-"));
      root = join(workdir, "mirror");
    });
    afterEach(async () => {
      await rm(workdir, { recursive: true, force: true });
    });
    const sync = (runId: string, settings: Partial<MirrorSettings> = {}, now?: () => Date) =>
      syncMirror({
        store: new FsStore(root),
        ...clientsFor(emulator()),
        settings: mirrorSettings({ layouts: OCI, ...settings }),
        runId,
        ...(now ? { now } : {}),
      });

    it("serves brew's rewritten ghcr.io URLs with the right bytes; each bottle is stored once (a hard link)", async () => {
      const { report } = await sync("oci-fs");

      expect(report.status).toBe("succeeded");
      const bottles = expectedBottles(emulator());
      const state = await loadState(new FsStore(root));
      const manifests = Object.keys(state.manifests ?? {}).length;
      expect(report.layouts?.oci).toMatchObject({
        objects: bottles.length + manifests,
        linked: bottles.length + manifests,
        copied: 0,
        failed: 0,
      });
      const server = await startServe({ store: new FsStore(root) });
      try {
        expect(await assertServedLikeBrewOci(emulator(), server.url)).toBe(bottles.length);
      } finally {
        await server.close();
      }
      for (const bottle of bottles) {
        const flat = await stat(join(root, bottle.key));
        const oci = await stat(join(root, ociBlobKey(bottle.formula, bottle.sha256)));
        expect(oci.ino, bottle.key).toBe(flat.ino);
      }
      const verified = await verifyMirror({ store: new FsStore(root) });
      expect(verified.problems).toEqual([]);
      expect(verified.byKind.oci).toBe(bottles.length + manifests);
    });

    it("a no-op re-sync writes nothing in the OCI tree; a store without hard links gets copies, said in the summary", async () => {
      await sync("first");
      const { report } = await sync("second");
      expect(report.layouts?.oci).toMatchObject({ linked: 0, copied: 0, failed: 0 });
      expect(report.layouts?.oci.unchanged).toBe(report.layouts?.oci.objects);

      const other = join(workdir, "nolinks");
      const copied = await syncMirror({
        store: new FsStore(other, { hardLinks: false }),
        ...clientsFor(emulator()),
        settings: mirrorSettings({ layouts: OCI }),
        runId: "nolinks",
      });
      expect(copied.report.layouts?.oci.linked).toBe(0);
      expect(copied.report.layouts?.oci.copied).toBe(copied.report.layouts?.oci.objects);
      const bottle = expectedBottles(emulator())[0];
      if (!bottle) throw new Error("no bottles");
      const [flat, oci] = await Promise.all([
        stat(join(other, bottle.key)),
        stat(join(other, ociBlobKey(bottle.formula, bottle.sha256))),
      ]);
      expect(oci.ino).not.toBe(flat.ino);
    });

    it("prunes a superseded bottle from both trees, and the whole OCI tree once the layout is off", async () => {
      const t0 = Date.now();
      await sync("first", { retentionDays: 1 }, () => new Date(t0));
      const [old] = expectedBottles(emulator()).filter((bottle) => bottle.tag === "x86_64_linux");
      if (!old) throw new Error("no x86_64_linux bottle");
      const oldBlob = ociBlobKey(old.formula, old.sha256);
      await emulator().bump(old.formula);
      const [fresh] = expectedBottles(emulator()).filter(
        (bottle) => bottle.formula === old.formula && bottle.tag === "x86_64_linux",
      );
      if (!fresh) throw new Error("the bump removed the bottle");

      await sync("superseding", { retentionDays: 1 }, () => new Date(t0 + 1000));
      // Kept through the retention (clients hold stale API caches), under both names.
      expect((await stat(join(root, old.key))).isFile()).toBe(true);
      expect((await stat(join(root, oldBlob))).isFile()).toBe(true);
      const { report } = await sync("pruning", { retentionDays: 1 }, () => new Date(t0 + 2 * DAY));

      expect(report.status).toBe("succeeded");
      await expect(stat(join(root, old.key))).rejects.toThrow(/ENOENT/);
      await expect(stat(join(root, oldBlob))).rejects.toThrow(/ENOENT/);
      expect((await stat(join(root, ociBlobKey(fresh.formula, fresh.sha256)))).isFile()).toBe(true);
      expect(report.layouts?.oci.pruned).toBeGreaterThan(0);
      expect((await verifyMirror({ store: new FsStore(root) })).problems).toEqual([]);

      const off = await sync("off", { layouts: ["flat"] }, () => new Date(t0 + 2 * DAY));
      expect(off.report.status).toBe("succeeded");
      expect((await walkFiles(root)).filter((file) => file.startsWith("v2/"))).toEqual([]);
      expect((await loadState(new FsStore(root))).oci).toBeUndefined();
    });

    it("verify finds a byte flipped in an OCI blob (and in its hard-linked bottle); --repair restores both", async () => {
      await writeFile(
        join(workdir, "config.yaml"),
        [
          "project: { name: oci-test }",
          "environments:",
          "  dev: { aws_region: us-east-1, schedule_expression: 'rate(1 day)' }",
          "mirror:",
          `  tags: [${TAGS.join(", ")}]`,
          "  layouts: [flat, oci]",
          "",
        ].join("\n"),
      );
      const hbsync = async (args: string[]) => {
        const output = memoryOutput();
        const code = await run(args, output, { cwd: workdir, env: {} });
        return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
      };
      const upstream = upstreamFlags(emulator(), root);
      const synced = await hbsync(["sync", ...upstream]);
      expect(synced.code, synced.stderr).toBe(0);
      expect(synced.stdout).toMatch(
        /OCI layout \d+ objects: \d+ hard-linked \(bytes stored once\), 0 copied/,
      );
      const [victim] = expectedBottles(emulator());
      if (!victim) throw new Error("no bottles");
      const blobKey = ociBlobKey(victim.formula, victim.sha256);
      const bytes = await readFile(join(root, blobKey));
      bytes[50] = (bytes[50] ?? 0) ^ 0xff; // in place: the hard-linked flat name shares the bytes
      await writeFile(join(root, blobKey), bytes);

      const found = await hbsync(["verify", "--dest", root]);
      expect(found.code).toBe(1);
      expect(found.stderr).toContain(`${blobKey}: sha256 differs`);
      expect(found.stderr).toContain(`${victim.key}: sha256 differs`);

      const repair = await hbsync(["verify", "--repair", ...upstream]);
      expect(repair.code, repair.stderr).toBe(0);
      expect(repair.stdout).toContain("repaired 2 of 2 damaged objects");
      const again = await hbsync(["verify", "--dest", root]);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/\d+ OCI objects\)$/);
      const [flat, oci] = await Promise.all([stat(join(root, victim.key)), stat(join(root, blobKey))]);
      expect(oci.ino).toBe(flat.ino);
    });
  });

  describe("into S3 (s3rver), read as a static bucket and through hbsync serve", () => {
    let s3: S3rverHandle;
    beforeAll(async () => {
      s3 = await startS3rver();
    });
    afterAll(async () => {
      await s3?.close();
    });

    it("copies server-side; brew's rewritten URLs get the right bytes; a damaged copy is found and re-copied", async () => {
      const store = new S3Store({ bucket: s3.bucket, prefix: "mirror", clientConfig: s3.clientConfig });
      const settings = mirrorSettings({ layouts: OCI });
      const { report } = await syncMirror({ store, ...clientsFor(emulator()), settings, runId: "oci-s3" });

      expect(report.status).toBe("succeeded");
      expect(report.layouts?.oci.linked).toBe(0);
      expect(report.layouts?.oci.copied).toBe(report.layouts?.oci.objects);
      // Anonymous, unsigned GETs at the path-style URL: what a static bucket (or CloudFront) gives brew.
      await assertServedLikeBrewOci(emulator(), `${s3.endpoint}/${s3.bucket}/mirror`);
      const server = await startServe({ store });
      try {
        await assertServedLikeBrewOci(emulator(), server.url);
      } finally {
        await server.close();
      }

      const manifestKey = Object.keys((await loadState(store)).manifests ?? {})[0] ?? "";
      const ociManifest = ociManifestKey(manifestKey) ?? "";
      await store.put(ociManifest, "{}");
      const verified = await verifyMirror({ store });
      expect(verified.problems.map((problem) => problem.key)).toEqual([ociManifest]);
      const repaired = await syncMirror({
        store,
        ...clientsFor(emulator()),
        settings,
        runId: "oci-s3-repair",
        forget: [ociManifest],
      });
      expect(repaired.report.status).toBe("succeeded");
      expect(repaired.report.layouts?.oci.copied).toBe(1);
      expect(repaired.report.counts.transferred).toBe(0);
      expect((await verifyMirror({ store })).problems).toEqual([]);
    });
  });
});
