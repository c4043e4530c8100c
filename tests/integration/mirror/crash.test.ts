import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { seededRandom } from "../../../src/emulator/faults.ts";
import type { RunReport } from "../../../src/mirror/report.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { expectedBottles, walkFiles } from "./helpers.ts";

const REPO = resolve(import.meta.dirname, "../../..");
const TAG = "arm64_sequoia";

/**
 * The CLI as a user runs it, killed or broken at random moments, then run again at once (no waiting
 * for a lease to expire): every re-run ends verified.
 */
describe("hbsync sync after a crash (CLI child, emulator on loopback)", () => {
  const emulator = withEmulator({
    fixtures: false,
    synthetic: { formulae: 16, tags: [TAG], sizes: { min: 20_000, max: 90_000 } },
  });
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    emulator().faults.clear();
    emulator().resetStats();
  });

  const flags = (dest: string) => [
    "sync",
    "--dest",
    dest,
    "--upstream-api",
    emulator().api,
    "--upstream-registry",
    emulator().registry,
    "--trusted-key",
    emulator().publicKeyPath,
    "--tags",
    TAG,
    "--transfers",
    "2",
  ];
  const freshDest = async () => {
    const dir = await mkdtemp(join(tmpdir(), "hbsync-crash-"));
    dirs.push(dir);
    return join(dir, "mirror");
  };
  // Commands run in the mirror's parent folder (no config.yaml there: the defaults and the flags).
  const hbsync = async (args: string[], cwd: string) => {
    const output = memoryOutput();
    const code = await run(args, output, { cwd, env: {} });
    return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
  };
  const child = (
    args: string[],
    cwd: string,
    options: { nodeFlags?: string[]; env?: NodeJS.ProcessEnv } = {},
  ) => {
    const proc = spawn(
      process.execPath,
      [...(options.nodeFlags ?? []), join(REPO, "bin/hbsync.js"), ...args],
      {
        cwd,
        env: { ...process.env, ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    proc.stderr?.on("data", (data: Buffer) => {
      stderr += data.toString();
    });
    proc.stdout?.resume();
    const exited = new Promise<number | null>((done) => proc.once("exit", (code) => done(code)));
    return { proc, exited, stderr: () => stderr };
  };
  const totalBytes = () => expectedBottles(emulator(), [TAG]).reduce((sum, bottle) => sum + bottle.size, 0);

  it("SIGKILL at 10 random moments, each re-run at once: verified every time, re-downloads counted", {
    timeout: 120_000,
  }, async () => {
    const random = seededRandom(15);
    // Slow enough that a run lasts a couple of seconds, so a kill can land in every phase.
    emulator().faults.inject({
      match: "/blobs/",
      host: "blob",
      times: Number.POSITIVE_INFINITY,
      fault: { kind: "slow", bytesPerSecond: 400_000 },
    });
    const trials: Array<{ killAfterMs: number; landed: number; served: number; takeover: boolean }> = [];
    for (let trial = 0; trial < 10; trial++) {
      const dest = await freshDest();
      emulator().resetStats();
      // From the moment the run holds its lease (planning, transfers, publish, the end) or, for a few,
      // from the start (the index fetch, before any lease).
      const killAfterMs = Math.round(random() * 1_600);
      const killed = child(flags(dest), dirname(dest));
      if (trial % 4 !== 3) {
        for (let i = 0; i < 400 && !(await walkFiles(join(dest, "_sync"))).includes("lock"); i++)
          await delay(10);
      }
      await delay(killAfterMs);
      killed.proc.kill("SIGKILL");
      await killed.exited;
      const landed = (await walkFiles(dest)).filter((file) => file.endsWith(".tar.gz"));

      const rerun = await hbsync([...flags(dest), "--json"], dirname(dest));

      expect(rerun.code, rerun.stderr).toBe(0);
      expect((JSON.parse(rerun.stdout) as RunReport).status).toBe("succeeded");
      expect((await hbsync(["verify", "--dest", dest], dirname(dest))).code).toBe(0);
      // What the killed run had finished is adopted, never fetched again.
      const refetched = landed.filter((key) => {
        const bottle = expectedBottles(emulator(), [TAG]).find((b) => b.key === key);
        return bottle && (emulator().stats.requests.get(`/blobs/sha256:${bottle.sha256}`) ?? 0) > 1;
      });
      expect(refetched).toEqual([]);
      expect(await walkFiles(join(dest, "_sync"))).not.toContain("lock");
      trials.push({
        killAfterMs,
        landed: landed.length,
        served: emulator().stats.bytesServed,
        takeover: rerun.stderr.includes("took over _sync/lock"),
      });
    }
    const total = totalBytes();
    const wasted = trials.map((t) => t.served - total);
    // Reported, for the record (the issue asks for the bytes downloaded twice).
    console.info(
      `SIGKILL trials: ${trials.length}, bottle bytes ${total} per mirror; downloaded again per trial: ${wasted.join(", ")} (total ${wasted.reduce((a, b) => a + b, 0)}); runs taken over at once: ${trials.filter((t) => t.takeover).length}; kills after ${trials.map((t) => t.killAfterMs).join(", ")} ms`,
    );
    for (const t of trials) expect(t.served).toBeGreaterThanOrEqual(total);
  });

  it("an error outside any await chain ends the run as failed in one line: report, state, lease released", {
    timeout: 60_000,
  }, async () => {
    emulator().faults.inject({
      match: "/blobs/",
      host: "blob",
      times: Number.POSITIVE_INFINITY,
      fault: { kind: "slow", bytesPerSecond: 200_000 },
    });
    const dest = await freshDest();
    const broken = child([...flags(dest), "--run-id", "broken"], dirname(dest), {
      nodeFlags: ["--import", join(REPO, "tests/fixtures/mirror/unawaited-error.mjs")],
      env: { HBSYNC_TEST_DEST: dest },
    });

    const code = await broken.exited;

    const stderr = broken.stderr();
    expect(code, stderr).toBe(1);
    expect(stderr).toContain("error: an unexpected error outside the run: injected");
    expect(stderr).toContain("error: not started: the run was cancelled (×");
    expect(stderr).not.toMatch(/\n\s+at /);
    const report = JSON.parse(await readFile(join(dest, "_sync/runs/broken.json"), "utf8")) as RunReport;
    expect(report.status).toBe("failed");
    expect(report.errors.some((error) => error.message.includes("injected"))).toBe(true);
    const state = JSON.parse(await readFile(join(dest, "_sync/state.json"), "utf8")) as { entries: object };
    expect(Object.keys(state.entries).length).toBeGreaterThan(0);
    expect(await walkFiles(join(dest, "_sync"))).not.toContain("lock");
    emulator().faults.clear();
    expect((await hbsync(flags(dest), dirname(dest))).code).toBe(0);
    expect((await hbsync(["verify", "--dest", dest], dirname(dest))).code).toBe(0);
  });
});
