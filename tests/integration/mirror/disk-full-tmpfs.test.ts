import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { RunReport } from "../../../src/mirror/report.ts";
import type { MirrorState } from "../../../src/mirror/state.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { expectedBottles, TAGS, walkFiles } from "./helpers.ts";

const REPO = resolve(import.meta.dirname, "../../..");
const execFileAsync = promisify(execFile);

/**
 * A real full disk: a 2 MiB tmpfs, when this machine lets the tests mount one (root, or a container
 * with CAP_SYS_ADMIN). Elsewhere the test is skipped, and its name says why; disk-full.test.ts covers
 * the same ground everywhere with a quota on the process's writes.
 */
function mountTmpfs(sizeMiB: number): { dir: string } | { reason: string } {
  const dir = mkdtempSync(join(tmpdir(), "hbsync-tmpfs-"));
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", dir], {
    encoding: "utf8",
  });
  if (mounted.status === 0) return { dir };
  rmSync(dir, { recursive: true, force: true });
  const why = (mounted.stderr || mounted.error?.message || `exit ${mounted.status}`).trim().split("\n")[0];
  return { reason: `cannot mount a tmpfs here (${why})` };
}

const tmpfs = mountTmpfs(2);
const mountPoint = "dir" in tmpfs ? tmpfs.dir : undefined;

describe("hbsync sync onto a real filesystem that fills up (2 MiB tmpfs, the CLI in its own process)", () => {
  const emulator = withEmulator({
    synthetic: { formulae: 30, tags: ["arm64_sequoia", "x86_64_linux"], sizes: { min: 20_000, max: 60_000 } },
  });
  afterAll(() => {
    if (mountPoint === undefined) return;
    spawnSync("umount", [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  const hbsync = async (args: string[]) =>
    execFileAsync(process.execPath, [join(REPO, "bin/hbsync.js"), ...args], {
      cwd: tmpdir(),
      env: { ...process.env, HBSYNC_DEBUG: "" },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        stdout: error.stdout,
        stderr: error.stderr,
      }),
    );

  const title =
    "ENOSPC: exit 1, one line naming the store and the space needed, no stack trace, the lock released, the state and report kept; after more space a re-run completes";
  it.skipIf(mountPoint === undefined)(
    mountPoint === undefined ? `${title} — skipped: ${"reason" in tmpfs ? tmpfs.reason : ""}` : title,
    { timeout: 120_000 },
    async () => {
      const root = join(mountPoint as string, "mirror");
      const flags = [
        "--dest",
        root,
        "--upstream-api",
        emulator().api,
        "--upstream-registry",
        emulator().registry,
        "--trusted-key",
        emulator().publicKeyPath,
        "--tags",
        TAGS.join(","),
      ];
      const bottles = expectedBottles(emulator());
      expect(bottles.reduce((sum, bottle) => sum + bottle.size, 0)).toBeGreaterThan(4 * 1024 * 1024);

      const full = await hbsync(["sync", ...flags]);

      expect(full.code).toBe(1);
      const lines = full.stderr.split("\n");
      const errors = lines.filter((line) => line.startsWith("error:"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(
        new RegExp(
          `^error: sync (\\S+) stopped: no space left on ${root} \\(ENOSPC\\); it needs \\d+\\.\\d MiB more free space \\(.+ planned, .+ stored\\); state saved, report: _sync/runs/\\1\\.json$`,
        ),
      );
      expect(lines.filter((line) => /ENOSPC|no space/.test(line))).toEqual(errors);
      expect(full.stderr).not.toMatch(/^\s+at |this is a bug|unexpected/m);
      const files = await walkFiles(root);
      expect(files).not.toContain("_sync/lock");
      expect(files.filter((file) => file.startsWith(".tmp/"))).toEqual([]);
      const runId = /sync (\S+) stopped/.exec(errors[0] ?? "")?.[1];
      const report = JSON.parse(await readFile(join(root, `_sync/runs/${runId}.json`), "utf8")) as RunReport;
      const state = JSON.parse(await readFile(join(root, "_sync/state.json"), "utf8")) as MirrorState;
      expect(report.status).toBe("failed");
      const stored = Object.keys(state.entries).length;
      expect(stored).toBeGreaterThan(0);
      expect(stored).toBeLessThan(bottles.length);

      spawnSync("mount", ["-o", "remount,size=64m", mountPoint as string]);
      const again = await hbsync(["sync", ...flags, "--json"]);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({
        status: "succeeded",
        counts: { transferred: bottles.length - stored, kept: stored },
      });
      expect((await hbsync(["verify", "--dest", root])).code).toBe(0);
    },
  );
});
