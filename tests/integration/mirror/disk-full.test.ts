import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { formatBytes, type RunReport } from "../../../src/mirror/report.ts";
import type { MirrorState } from "../../../src/mirror/state.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { fsFaults, resetFsFaults } from "../../helpers/fs-faults.ts";
import { expectedBottles, TAGS, walkFiles } from "./helpers.ts";

// The files this process writes share a quota (tests/helpers/fs-faults.ts): a disk that fills up in
// the middle of a sync, on every machine. tests/integration/mirror/disk-full-tmpfs.test.ts does the
// same on a real tiny filesystem where one can be mounted.
vi.mock("node:fs/promises", async (importOriginal) =>
  (await import("../../helpers/fs-faults.ts")).faultyFs(await importOriginal()),
);
// Bottles and manifests this small are written with node:fs's synchronous calls (FsStore.putSmall).
vi.mock("node:fs", async (importOriginal) =>
  (await import("../../helpers/fs-faults.ts")).faultySyncFs(await importOriginal()),
);

describe("hbsync sync on a disk that fills up (CLI, emulator on loopback)", () => {
  const emulator = withEmulator({
    synthetic: { formulae: 30, tags: ["arm64_sequoia", "x86_64_linux"], sizes: { min: 20_000, max: 60_000 } },
  });
  let workdir = "";
  let root = "";

  beforeEach(async () => {
    workdir = await mkdtemp(join(tmpdir(), "hbsync-full-"));
    root = join(workdir, "mirror");
    emulator().resetStats();
  });
  afterEach(async () => {
    resetFsFaults();
    await rm(workdir, { recursive: true, force: true });
  });

  const flags = () => [
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
    "--transfers",
    "4",
  ];
  const hbsync = async (args: string[]) => {
    const output = memoryOutput();
    const code = await run(args, output, { cwd: workdir, env: {} });
    return { code, stdout: output.stdout, stderr: output.stderr };
  };
  const readJson = async <T>(key: string): Promise<T> =>
    JSON.parse(await readFile(join(root, key), "utf8")) as T;
  const plannedBytes = () => expectedBottles(emulator()).reduce((sum, bottle) => sum + bottle.size, 0);

  it("ENOSPC: stops starting transfers, exits 1 with one line (store, space needed, fix), keeps the state and report, releases the lock; a re-run resumes", async () => {
    const bottles = expectedBottles(emulator());
    fsFaults.code = "ENOSPC";
    fsFaults.quota = Math.floor(plannedBytes() * 0.4) + 512 * 1024;

    const full = await hbsync(["sync", ...flags()]);

    expect(fsFaults.raised.write).toBeGreaterThan(0);
    expect(full.code).toBe(1);
    const errors = full.stderr.filter((line) => line.startsWith("error:"));
    expect(errors).toHaveLength(1);
    const [line] = errors as [string];
    // No per-bottle ENOSPC lines, no stack trace, not "a bug".
    expect(full.stderr.filter((l) => /ENOSPC|no space/.test(l))).toEqual([line]);
    expect(full.stderr.join("\n")).not.toMatch(/^\s+at |this is a bug|unexpected/m);
    expect(full.stderr.filter((l) => l.startsWith("fix:"))).toHaveLength(1);

    const state = await readJson<MirrorState>("_sync/state.json");
    const runId = /sync (\S+) stopped/.exec(line)?.[1] ?? "";
    const report = await readJson<RunReport>(`_sync/runs/${runId}.json`);
    const plan = await readJson<{ api: { size: number }[] }>(`_sync/plans/${runId}.json`);
    const stored = Object.values(state.entries);
    const storedBytes = stored.reduce((sum, entry) => sum + entry.size, 0);
    const planned = report.bytes.planned + plan.api.reduce((sum, ref) => sum + ref.size, 0);
    expect(report.bytes.planned).toBe(plannedBytes());
    expect(line).toBe(
      `error: sync ${runId} stopped: no space left on ${root} (ENOSPC); it needs ${formatBytes(planned - storedBytes)} more free space (${formatBytes(planned)} planned, ${formatBytes(storedBytes)} stored); state saved, report: _sync/runs/${runId}.json`,
    );
    expect(full.stderr).toContain(
      `fix: free at least ${formatBytes(planned - storedBytes)} on ${root}, or point --dest at a filesystem with room, then re-run: the ${stored.length} bottle(s) stored are kept and not downloaded again`,
    );
    expect(report).toMatchObject({ status: "failed" });
    // The first full write stopped new transfers: only those in flight (4) ran past it.
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.length).toBeLessThan(bottles.length);
    expect(emulator().stats.blobRequests).toBeLessThanOrEqual(stored.length + 4);
    // Nothing partial is visible, the lock is released, no API was published.
    const files = await walkFiles(root);
    expect(files).not.toContain("_sync/lock");
    expect(files.filter((file) => file.startsWith(".tmp/"))).toEqual([]);
    expect(files.filter((file) => file.includes(".bottle.")).sort()).toEqual(
      Object.keys(state.entries).sort(),
    );
    expect(files.some((file) => file.startsWith("api/"))).toBe(false);

    // Space freed: the re-run fetches only what is missing, and the mirror verifies.
    resetFsFaults();
    emulator().resetStats();
    const again = await hbsync(["sync", ...flags(), "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout.join("\n"))).toMatchObject({
      status: "succeeded",
      counts: { transferred: bottles.length - stored.length, kept: stored.length },
    });
    expect((await hbsync(["verify", "--dest", root])).code).toBe(0);
  });

  it("EDQUOT with no room left even for the records: says so in the one line, and still releases the lock", async () => {
    fsFaults.code = "EDQUOT";
    // Once full, full for good (another process takes whatever is freed): the state and report fail too.
    fsFaults.quota = Math.floor(plannedBytes() * 0.2) + 512 * 1024;
    fsFaults.sticky = true;

    const full = await hbsync(["sync", ...flags()]);

    expect(full.code).toBe(1);
    const errors = full.stderr.filter((line) => line.startsWith("error:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      new RegExp(
        `^error: sync \\S+ stopped: disk quota exceeded on ${root} \\(EDQUOT\\); it needs .+ more free space \\(.+ planned, .+ stored\\); neither the state nor the run report could be written \\(no space left for them either\\)$`,
      ),
    );
    expect(full.stderr.join("\n")).toContain("(or raise the quota)");
    expect(full.stderr.join("\n")).not.toMatch(/^\s+at |this is a bug|unexpected/m);
    expect(await walkFiles(root)).not.toContain("_sync/lock");
  });
});
