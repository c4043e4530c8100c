/**
 * throughput: the emulator (in this process) serves ~total-mib in ~bottles mixed-size bottles; in the
 * same run, against the same registry URLs (same 307 redirects to the blob host), with the same
 * concurrency, --runs times each, interleaved (median reported):
 *   curl      ONE `curl --parallel --parallel-max N -K list` process (the list holds url/output pairs)
 *   cli       `node bin/hbsync.js sync` into a folder (what a user runs: tsx start-up included)
 *   engine    bench/sync-child.ts under tsx (the same engine without the CLI's start-up)
 *   bundled   bench/sync-child.ts bundled like the ECS task (plain node, no tsx)
 *   reference bench/plain-node.ts: http.get piped to a file, no hash/fsync (Node's own floor)
 * plus curl followed by a sha256 of every file and `sync -f` (the guarantees the sync gives: every
 * object verified, and durable before the state and API name it; curl gives neither),
 * and with --s3 a smaller set (--s3-total-mib) synced by the CLI into s3rver next to curl on that set.
 * --profile writes a V8 CPU profile of the engine run to bench/results/profiles/.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startEmulator } from "../src/emulator/emulator.ts";
import type { RunReport } from "../src/mirror/report.ts";
import {
  bundledArgs,
  bundleEngine,
  type ChildResult,
  cliArgs,
  engineArgs,
  flag,
  MiB,
  median,
  mixedSizes,
  REPO,
  RESULTS,
  type Row,
  runChild,
  type SyncTarget,
  save,
  writeKey,
} from "./lib.ts";

const TAG = "arm64_sequoia";
/** curl, then the sha256 of every file and `sync -f`: what curl would cost with the sync's guarantees. */
const VERIFIED_CURL = "curl --parallel + sha256 of each file + sync -f (verified, durable)";

interface Sample {
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  transferSeconds?: number;
}

export async function throughput(args: string[]): Promise<Row[]> {
  const totalMiB = flag(args, "total-mib", 2048);
  const count = flag(args, "bottles", 500);
  const concurrency = flag(args, "concurrency", 4);
  const runs = Math.max(1, flag(args, "runs", 1));
  const baselineAt = args.indexOf("--baseline");
  const baseline = baselineAt >= 0 ? args[baselineAt + 1] : undefined;
  if (baselineAt >= 0 && !baseline) throw new Error("--baseline needs the folder of another checkout");
  const rows = await measureSet({
    totalMiB,
    count,
    concurrency,
    runs,
    profile: args.includes("--profile"),
    s3: false,
    ...(baseline ? { baseline: resolve(baseline) } : {}),
  });
  if (args.includes("--s3")) {
    const s3MiB = flag(args, "s3-total-mib", 256);
    const s3Count = flag(args, "s3-bottles", Math.max(1, Math.round((count * s3MiB) / totalMiB)));
    rows.push(
      ...(await measureSet({
        totalMiB: s3MiB,
        count: s3Count,
        concurrency,
        runs,
        profile: false,
        s3: true,
      })),
    );
  }
  await save("throughput", { totalMiB, count, concurrency, runs, node: process.version, rows });
  return rows;
}

async function measureSet(set: {
  totalMiB: number;
  count: number;
  concurrency: number;
  runs: number;
  profile: boolean;
  s3: boolean;
  /** Another checkout (e.g. `git worktree add /tmp/base <commit>`): its CLI and bundled engine too. */
  baseline?: string;
}): Promise<Row[]> {
  const sizes = mixedSizes(set.count, set.totalMiB * MiB);
  process.stderr.write(
    `throughput: starting the emulator (${set.count} bottles, ${set.totalMiB} MiB; hashing them once)…\n`,
  );
  const emulator = await startEmulator({
    fixtures: false,
    // Raw pseudo-random bytes of exactly these sizes, not real bottles (brew could not pour them).
    blobs: "raw",
    synthetic: {
      formulae: set.count,
      tags: [TAG],
      sizes: ({ index }) => sizes[index % sizes.length] ?? 4096,
    },
  });
  const dir = await mkdtemp(join(tmpdir(), "hbsync-bench-"));
  try {
    const keyPath = await writeKey(emulator, dir);
    const bottles = emulator.index.bottles;
    const bytes = bottles.reduce((sum, bottle) => sum + bottle.size, 0);
    const target: SyncTarget = {
      emulator,
      keyPath,
      dest: join(dir, "mirror"),
      tag: TAG,
      concurrency: set.concurrency,
    };
    const bundle = await bundleEngine(dir);
    const baselineBundle = set.baseline ? await bundleEngine(dir, set.baseline, "baseline") : undefined;
    const curlDir = join(dir, "curl");
    const list = bottles
      .map(
        (bottle) =>
          `url = "${emulator.registry}/${bottle.image}/blobs/sha256:${bottle.sha256}"\noutput = "${join(curlDir, bottle.sha256)}"`,
      )
      .join("\n");
    await writeFile(join(dir, "curl.list"), `${list}\n`);

    const curl = async (verified: boolean): Promise<Sample> => {
      await mkdir(curlDir, { recursive: true });
      const run = await runChild("curl", [
        "--silent",
        "--show-error",
        "--fail",
        "--location",
        "--parallel",
        "--parallel-max",
        String(set.concurrency),
        "--header",
        "Authorization: Bearer QQ==",
        "-K",
        join(dir, "curl.list"),
      ]);
      if (run.code !== 0) throw new Error(`curl failed (${run.code}): ${run.stderr.slice(0, 500)}`);
      let seconds = run.seconds;
      let cpuSeconds = run.cpuSeconds;
      if (verified) {
        // What the sync also does: the sha256 of every file (curl checks none), from the page cache;
        // openssl uses the CPU's SHA extensions as Node's hash does (coreutils sha256sum may not).
        const script =
          'cd "$1" && if command -v openssl >/dev/null; then ls | xargs openssl dgst -sha256; else ls | xargs sha256sum; fi > /dev/null';
        const hashing = await runChild("sh", ["-c", script, "sh", curlDir]);
        seconds += hashing.seconds;
        cpuSeconds += hashing.cpuSeconds;
      }
      if (verified) {
        const flushStarted = performance.now();
        await runChild("sync", ["-f", curlDir]);
        seconds += (performance.now() - flushStarted) / 1000;
      }
      await rm(curlDir, { recursive: true, force: true });
      return { seconds, cpuSeconds, peakRssMiB: run.peakRssMiB };
    };
    const plain = async (): Promise<Sample> => {
      const out = join(dir, "plain");
      const argv = ["--import", "tsx", join(REPO, "bench/plain-node.ts"), join(dir, "curl.list"), out];
      const run = await runChild(process.execPath, [...argv, String(set.concurrency)]);
      if (run.code !== 0) throw new Error(`plain-node failed (${run.code}): ${run.stderr.slice(-500)}`);
      await rm(out, { recursive: true, force: true });
      return { seconds: run.seconds, cpuSeconds: run.cpuSeconds, peakRssMiB: run.peakRssMiB };
    };
    const sync = async (what: string, argv: string[], env?: NodeJS.ProcessEnv): Promise<Sample> => {
      const run = await runChild(process.execPath, argv, env ? { cwd: dir, env } : {});
      await rm(target.dest, { recursive: true, force: true });
      return fromReport(what, run);
    };

    const samples = new Map<string, Sample[]>();
    const add = (name: string, sample: Sample): void => {
      samples.set(name, [...(samples.get(name) ?? []), sample]);
    };
    let s3: { env: Record<string, string>; bucket: string; close(): Promise<void> } | undefined;
    if (set.s3) s3 = await import("../tests/helpers/s3rver.ts").then((m) => m.startS3rver());
    try {
      for (let i = 0; i < set.runs; i++) {
        const runners: Array<[string, () => Promise<Sample>]> = [
          ["curl --parallel", () => curl(false)],
          [VERIFIED_CURL, () => curl(true)],
        ];
        if (s3) {
          const argv = cliArgs({ ...target, dest: `s3://${s3.bucket}/bench${i}` });
          const env = { ...process.env, ...s3.env };
          runners.push(["hbsync sync (CLI) → s3rver", () => sync("hbsync → s3rver", argv, env)]);
          runners.push(["hbsync sync (CLI) → fs", () => sync("hbsync → fs", cliArgs(target))]);
        } else {
          const profile =
            set.profile && i === 0 ? ["--cpu-prof", "--cpu-prof-dir", join(RESULTS, "profiles")] : [];
          runners.push(["reference: node http.get → file", plain]);
          runners.push(["hbsync sync (CLI) → fs", () => sync("hbsync sync", cliArgs(target))]);
          runners.push(["sync engine (tsx) → fs", () => sync("engine", engineArgs(target, profile))]);
          runners.push(["sync engine (bundled) → fs", () => sync("bundled", bundledArgs(bundle, target))]);
          if (set.baseline && baselineBundle) {
            const cli = cliArgs(target, set.baseline);
            runners.push([`${BASELINE}hbsync sync (CLI) → fs`, () => sync("baseline CLI", cli)]);
            const engine = bundledArgs(baselineBundle, target);
            runners.push([`${BASELINE}sync engine (bundled) → fs`, () => sync("baseline bundled", engine)]);
          }
        }
        // Rotate the order each run (no runner always goes first or right after another's deletes), and
        // flush dirty pages before each one (no run pays for the previous run's writeback).
        for (let j = 0; j < runners.length; j++) {
          const [name, runner] = runners[(i + j) % runners.length] as [string, () => Promise<Sample>];
          await runChild("sync", []);
          add(name, await runner());
        }
      }
    } finally {
      await s3?.close();
    }

    const curlSeconds = median((samples.get("curl --parallel") ?? []).map((s) => s.seconds));
    const verifiedSeconds = median((samples.get(VERIFIED_CURL) ?? []).map((s) => s.seconds));
    const rows: Row[] = [];
    const baselineOf = (run: string): number | undefined => {
      const list = set.baseline ? samples.get(`${BASELINE}${run}`) : undefined;
      return list ? median(list.map((s) => s.seconds)) : undefined;
    };
    for (const [run, list] of samples) {
      const seconds = median(list.map((s) => s.seconds));
      const transfer = list.flatMap((s) => (s.transferSeconds === undefined ? [] : [s.transferSeconds]));
      const isCurl = run.startsWith("curl");
      rows.push({
        run,
        bottles: bottles.length,
        MiB: Math.round(bytes / MiB),
        runs: list.length,
        "median s": seconds.toFixed(2),
        "MiB/s": (bytes / MiB / seconds).toFixed(1),
        "CPU s": median(list.map((s) => s.cpuSeconds)).toFixed(1),
        "peak RSS MiB": median(list.map((s) => s.peakRssMiB)),
        "transfer phase s": transfer.length > 0 ? median(transfer).toFixed(2) : "",
        "ratio vs curl": isCurl ? "" : (curlSeconds / seconds).toFixed(2),
        "vs verified+durable curl": isCurl ? "" : (verifiedSeconds / seconds).toFixed(2),
        ...(set.baseline ? { "vs baseline": ratioTo(baselineOf(run), seconds) } : {}),
      });
    }
    return rows;
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const BASELINE = "baseline: ";

/** baseline seconds / these seconds (> 1: this build is faster), or "" when there is no baseline row. */
function ratioTo(baselineSeconds: number | undefined, seconds: number): string {
  return baselineSeconds === undefined ? "" : (baselineSeconds / seconds).toFixed(2);
}

function fromReport(what: string, run: ChildResult): Sample {
  if (run.code !== 0) throw new Error(`${what} failed (${run.code}): ${run.stderr.slice(-800)}`);
  const report = JSON.parse(run.stdout) as RunReport;
  if (report.status !== "succeeded")
    throw new Error(`${what}: ${JSON.stringify(report.errors).slice(0, 500)}`);
  process.stderr.write(`${what} phases (ms): ${JSON.stringify(report.durationsMs)}\n`);
  return {
    seconds: run.seconds,
    cpuSeconds: run.cpuSeconds,
    peakRssMiB: run.peakRssMiB,
    transferSeconds: (report.durationsMs.transfers ?? 0) / 1000,
  };
}
