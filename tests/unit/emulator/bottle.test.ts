import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type BottleSpec, binScript, buildBottle, installReceipt } from "../../../src/emulator/bottle.ts";
import { withEmulator } from "../../helpers/emulator.ts";

const spec: BottleSpec = {
  name: "synth00003@2",
  pkgVersion: "1.3.3",
  stableVersion: "1.3.3",
  tag: "x86_64_linux",
  runtimeDependencies: [
    {
      full_name: "synth00002",
      version: "1.2.2",
      revision: 0,
      bottle_rebuild: 1,
      pkg_version: "1.2.2",
      declared_directly: true,
    },
  ],
  size: 20_000,
  id: "synth00003@2|1.3.3|x86_64_linux|0",
};

/** Unpacks a bottle with the system tar, as brew pours it (`tar --extract`), and lists what it holds. */
async function pour(bytes: Buffer, dir: string): Promise<string[]> {
  const file = join(dir, "bottle.tar.gz");
  await writeFile(file, bytes);
  execFileSync("tar", ["--extract", "--gzip", "--file", file, "--directory", dir]);
  return execFileSync("tar", ["--list", "--gzip", "--file", file], { encoding: "utf8" }).trim().split("\n");
}

describe("emulator/bottle", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-bottle-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("buildBottle", () => {
    it("is a gzipped tar of <name>/<pkg_version>/ with a receipt, an executable bin/<name> and a payload", async () => {
      const bytes = await buildBottle(spec);

      expect(bytes.subarray(0, 2).toString("hex")).toBe("1f8b");
      expect(await pour(bytes, dir)).toEqual([
        "synth00003@2/",
        "synth00003@2/1.3.3/",
        "synth00003@2/1.3.3/INSTALL_RECEIPT.json",
        "synth00003@2/1.3.3/bin/",
        "synth00003@2/1.3.3/bin/synth00003@2",
        "synth00003@2/1.3.3/share/",
        "synth00003@2/1.3.3/share/synth00003@2/",
        "synth00003@2/1.3.3/share/synth00003@2/payload.bin",
      ]);
      const bin = join(dir, "synth00003@2/1.3.3/bin/synth00003@2");
      expect((await stat(bin)).mode & 0o777).toBe(0o755);
      expect(execFileSync(bin, { encoding: "utf8" })).toBe(
        "synth00003@2 1.3.3 (x86_64_linux bottle from the hbsync emulator)\n",
      );
      expect(Math.abs(bytes.length - spec.size)).toBeLessThan(1024);
    });

    it("writes INSTALL_RECEIPT.json in the shape brew's Tab#to_json gives a bottle", async () => {
      await pour(await buildBottle(spec), dir);
      const receipt = JSON.parse(
        await readFile(join(dir, "synth00003@2/1.3.3/INSTALL_RECEIPT.json"), "utf8"),
      );

      expect(Object.keys(receipt)).toEqual([
        "homebrew_version",
        "used_options",
        "unused_options",
        "built_as_bottle",
        "poured_from_bottle",
        "loaded_from_api",
        "loaded_from_internal_api",
        "installed_on_request",
        "changed_files",
        "time",
        "source_modified_time",
        "compiler",
        "aliases",
        "runtime_dependencies",
        "source",
        "arch",
        "built_on",
      ]);
      expect(receipt).toMatchObject({
        built_as_bottle: true,
        poured_from_bottle: false,
        changed_files: [],
        time: null,
        runtime_dependencies: spec.runtimeDependencies,
        source: { spec: "stable", tap: "homebrew/core", versions: { stable: "1.3.3" } },
        arch: "x86_64",
        built_on: { os: "Linux" },
      });
      expect(installReceipt(spec)).toBe(`${JSON.stringify(receipt, null, 2)}\n`);
    });

    it("gives the same bytes for the same spec, and other bytes for another version", async () => {
      const digest = async (value: BottleSpec) =>
        createHash("sha256")
          .update(await buildBottle(value))
          .digest("hex");

      expect(await digest(spec)).toBe(await digest({ ...spec }));
      expect(await digest({ ...spec, pkgVersion: "1.3.3_1" })).not.toBe(await digest(spec));
    });

    it("skips the payload when the receipt and script already fill the size", async () => {
      expect(await pour(await buildBottle({ ...spec, size: 10 }), dir)).not.toContain(
        "synth00003@2/1.3.3/share/synth00003@2/payload.bin",
      );
      expect(binScript(spec)).toMatch(/^#!\/bin\/sh\n/);
    });
  });

  describe("as the emulator serves them", () => {
    const emulator = withEmulator({ fixtures: false, synthetic: { formulae: 10, tags: ["x86_64_linux"] } });

    it("serves real bottles whose sha256 is the index's, with the receipt's dependencies in the manifest tab", async () => {
      const served = emulator().index.bottles.find((bottle) => bottle.formula === "synth00009");
      if (!served) throw new Error("no synth00009 bottle");
      const bytes = Buffer.from(
        await (await fetch(`${emulator().blobHost}/blobs/sha256:${served.sha256}`)).arrayBuffer(),
      );

      expect(createHash("sha256").update(bytes).digest("hex")).toBe(served.sha256);
      await pour(bytes, dir);
      const receipt = JSON.parse(
        await readFile(join(dir, `synth00009/${served.pkgVersion}/INSTALL_RECEIPT.json`), "utf8"),
      );
      // synth00009 depends on synth00008 and (uses_from_macos, so on Linux) synth00007++; synth00008 on
      // Linux also on synth00005 (a variation), which depends on synth00004.
      expect(
        receipt.runtime_dependencies.map((dependency: { full_name: string }) => dependency.full_name),
      ).toEqual(["synth00008", "synth00007++", "synth00005", "synth00004"]);
      const manifest = JSON.parse(
        (
          await (
            await fetch(`${emulator().registry}/${served.image}/manifests/${served.versionRebuild}`, {
              headers: { authorization: "Bearer QQ==" },
            })
          ).text()
        ).toString(),
      );
      const tab = JSON.parse(manifest.manifests[0].annotations["sh.brew.tab"]);
      expect(tab.runtime_dependencies).toEqual(receipt.runtime_dependencies);
      expect(manifest.manifests[0].annotations["sh.brew.bottle.digest"]).toBe(served.sha256);
    });
  });
});
