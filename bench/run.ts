/**
 * Benchmarks for the mirror engine (never run by the tests; no timing assertions anywhere):
 *
 *   npm run bench -- throughput [--total-mib 2048] [--bottles 500] [--concurrency 4] [--s3]
 *   npm run bench -- memory [--size-mib 4096]
 *   npm run bench -- plan [--formulae 8000] [--tags 6]
 *   npm run bench -- all
 *
 * throughput: the emulator (in this process) serves ~total-mib in ~bottles mixed-size bottles; our sync
 * (`node bin/hbsync.js sync`, a child process) into a folder vs ONE `curl --parallel --parallel-max N -K
 * list` process fetching the same registry URLs (same redirects) to disk, same concurrency, same run.
 * memory: peak RSS (VmHWM of the sync child, sampled from /proc) while syncing one size-mib bottle.
 * plan: planSync of formulae × tags against a state of the same size (median of 5 runs).
 * Results: bench/results/<name>.json, and a table on stdout.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { type Emulator, startEmulator } from "../src/emulator/emulator.ts";
import type { FormulaInfo } from "../src/homebrew/types.ts";
import { planSync } from "../src/mirror/plan.ts";
import type { RunReport } from "../src/mirror/report.ts";
import type { MirrorState } from "../src/mirror/state.ts";

const REPO = resolve(import.meta.dirname, "..");
const RESULTS = join(REPO, "bench/results");
const MiB = 1024 * 1024;

type Row = Record<string, string | number>;

function flag(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  const value = index >= 0 ? Number(args[index + 1]) : fallback;
  return Number.isFinite(value) ? value : fallback;
}

function table(rows: Row[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => String(row[column] ?? "").length)),
  );
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ");
  return [
    line(columns),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map((row) => line(columns.map((c) => String(row[c] ?? "")))),
  ].join("\n");
}

async function save(name: string, value: unknown): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
  await writeFile(join(RESULTS, `${name}.json`), `${JSON.stringify(value, null, 2)}\n`);
}

/** Runs a child process; resolves with exit code, wall time and peak RSS (VmHWM from /proc). */
async function runChild(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; seconds: number; peakRssMiB: number; stdout: string; stderr: string }> {
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let peakKiB = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, "utf8");
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
      } catch {
        // exited
      }
      await delay(100);
    }
  })();
  const code = await new Promise<number>((done) => child.on("exit", (exitCode) => done(exitCode ?? -1)));
  running = false;
  await sampler;
  return {
    code,
    seconds: (performance.now() - started) / 1000,
    peakRssMiB: Math.round(peakKiB / 1024),
    stdout,
    stderr,
  };
}

/** Deterministic log-uniform sizes between 4 KiB and 64 MiB, scaled to sum to `total`. */
function mixedSizes(count: number, total: number): number[] {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const raw = Array.from({ length: count }, () =>
    Math.exp(Math.log(4096) + random() * (Math.log(64 * MiB) - Math.log(4096))),
  );
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((size) => Math.max(1024, Math.round((size / sum) * total)));
}

async function writeKey(emulator: Emulator, dir: string): Promise<string> {
  const path = join(dir, "emulator.pem");
  await writeFile(path, emulator.publicKeyPem);
  return path;
}

function syncArgs(
  emulator: Emulator,
  keyPath: string,
  dest: string,
  tag: string,
  concurrency: number,
): string[] {
  return [
    join(REPO, "bin/hbsync.js"),
    "sync",
    "--dest",
    dest,
    "--upstream-api",
    emulator.api,
    "--upstream-registry",
    emulator.registry,
    "--trusted-key",
    keyPath,
    "--tags",
    tag,
    "--transfers",
    String(concurrency),
    "--checkers",
    "8",
    "--json",
  ];
}

/** The engine-only child (bench/sync-child.ts): same sync, without CLI start-up. */
function engineArgs(
  emulator: Emulator,
  keyPath: string,
  dest: string,
  tag: string,
  concurrency: number,
): string[] {
  return [
    "--import",
    "tsx",
    join(REPO, "bench/sync-child.ts"),
    emulator.api,
    emulator.registry,
    keyPath,
    dest,
    tag,
    String(concurrency),
  ];
}

async function throughput(args: string[]): Promise<Row[]> {
  const totalMiB = flag(args, "total-mib", 2048);
  const count = flag(args, "bottles", 500);
  const concurrency = flag(args, "concurrency", 4);
  const sizes = mixedSizes(count, totalMiB * MiB);
  const tag = "arm64_sequoia";
  process.stderr.write(
    `throughput: starting the emulator (${count} bottles, ${totalMiB} MiB; hashing them once)…\n`,
  );
  const emulator = await startEmulator({
    fixtures: false,
    synthetic: { formulae: count, tags: [tag], sizes: ({ index }) => sizes[index % sizes.length] ?? 4096 },
  });
  const dir = await mkdtemp(join(tmpdir(), "hbsync-bench-"));
  const rows: Row[] = [];
  try {
    const keyPath = await writeKey(emulator, dir);
    const bottles = emulator.index.bottles;
    const bytes = bottles.reduce((sum, bottle) => sum + bottle.size, 0);

    // curl: one process, --parallel, the same registry URLs (redirected to the blob host).
    const curlDir = join(dir, "curl");
    await mkdir(curlDir);
    const list = bottles
      .map(
        (bottle) =>
          `url = "${emulator.registry}/${bottle.image}/blobs/sha256:${bottle.sha256}"\noutput = "${join(curlDir, bottle.sha256)}"`,
      )
      .join("\n");
    await writeFile(join(dir, "curl.list"), `${list}\n`);
    emulator.resetStats();
    const curl = await runChild("curl", [
      "--silent",
      "--show-error",
      "--fail",
      "--location",
      "--parallel",
      "--parallel-max",
      String(concurrency),
      "--header",
      "Authorization: Bearer QQ==",
      "-K",
      join(dir, "curl.list"),
    ]);
    if (curl.code !== 0) throw new Error(`curl failed (${curl.code}): ${curl.stderr.slice(0, 500)}`);
    rows.push({
      run: "curl --parallel",
      bottles: bottles.length,
      MiB: Math.round(bytes / MiB),
      seconds: curl.seconds.toFixed(2),
      "MiB/s": (bytes / MiB / curl.seconds).toFixed(1),
      "peak RSS MiB": curl.peakRssMiB,
    });
    // FsStore fsyncs every object before renaming it into place (a crash never leaves a torn bottle);
    // curl does not. `sync -f` after curl shows what the same durability costs the baseline.
    const flushStarted = performance.now();
    await runChild("sync", ["-f", curlDir]);
    const durableSeconds = curl.seconds + (performance.now() - flushStarted) / 1000;
    rows.push({
      run: "curl --parallel + sync -f (durable)",
      bottles: bottles.length,
      MiB: Math.round(bytes / MiB),
      seconds: durableSeconds.toFixed(2),
      "MiB/s": (bytes / MiB / durableSeconds).toFixed(1),
    });
    await rm(curlDir, { recursive: true, force: true });

    const hbsync = await runChild(
      process.execPath,
      syncArgs(emulator, keyPath, join(dir, "mirror"), tag, concurrency),
    );
    if (hbsync.code !== 0)
      throw new Error(`hbsync sync failed (${hbsync.code}): ${hbsync.stderr.slice(0, 500)}`);
    const report = JSON.parse(hbsync.stdout) as RunReport;
    const transferSeconds = (report.durationsMs.transfers ?? 0) / 1000;
    process.stderr.write(`hbsync phases (ms): ${JSON.stringify(report.durationsMs)}\n`);
    rows.push({
      run: "hbsync sync → fs (wall)",
      bottles: report.counts.transferred,
      MiB: Math.round(report.bytes.transferred / MiB),
      seconds: hbsync.seconds.toFixed(2),
      "MiB/s": (bytes / MiB / hbsync.seconds).toFixed(1),
      "peak RSS MiB": hbsync.peakRssMiB,
      "ratio vs curl": (curl.seconds / hbsync.seconds).toFixed(2),
    });
    rows.push({
      run: "hbsync sync → fs (transfer phase)",
      bottles: report.counts.transferred,
      MiB: Math.round(report.bytes.transferred / MiB),
      seconds: transferSeconds.toFixed(2),
      "MiB/s": (bytes / MiB / transferSeconds).toFixed(1),
      "ratio vs curl": (curl.seconds / transferSeconds).toFixed(2),
    });
    await rm(join(dir, "mirror"), { recursive: true, force: true });

    const engine = await runChild(
      process.execPath,
      engineArgs(emulator, keyPath, join(dir, "mirror"), tag, concurrency),
    );
    if (engine.code !== 0)
      throw new Error(`engine sync failed (${engine.code}): ${engine.stderr.slice(0, 500)}`);
    const engineReport = JSON.parse(engine.stdout) as RunReport;
    process.stderr.write(`engine phases (ms): ${JSON.stringify(engineReport.durationsMs)}\n`);
    rows.push({
      run: "sync engine → fs (wall, no CLI start-up)",
      bottles: engineReport.counts.transferred,
      MiB: Math.round(engineReport.bytes.transferred / MiB),
      seconds: engine.seconds.toFixed(2),
      "MiB/s": (bytes / MiB / engine.seconds).toFixed(1),
      "peak RSS MiB": engine.peakRssMiB,
      "ratio vs curl": (curl.seconds / engine.seconds).toFixed(2),
    });
    await rm(join(dir, "mirror"), { recursive: true, force: true });

    if (args.includes("--s3"))
      rows.push(...(await throughputS3(emulator, keyPath, dir, tag, concurrency, bytes, curl.seconds)));
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
  await save("throughput", { totalMiB, count, concurrency, rows });
  return rows;
}

/** The same sync into s3rver (needs src/storage's S3 backend and tests/helpers/s3rver.ts). */
async function throughputS3(
  emulator: Emulator,
  keyPath: string,
  dir: string,
  tag: string,
  concurrency: number,
  bytes: number,
  curlSeconds: number,
): Promise<Row[]> {
  const helperPath = "../tests/helpers/s3rver.ts";
  let helper: {
    startS3rver: () => Promise<{ endpoint: string; bucket: string; close: () => Promise<void> }>;
  };
  try {
    helper = await import(helperPath);
  } catch {
    return [{ run: "hbsync sync → s3rver", note: "skipped: tests/helpers/s3rver.ts is not available" }];
  }
  const s3 = await helper.startS3rver();
  try {
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
      AWS_S3_FORCE_PATH_STYLE: "true",
    };
    const run = await runChild(
      process.execPath,
      syncArgs(emulator, keyPath, `s3://${s3.bucket}/bench`, tag, concurrency),
      { cwd: dir, env },
    );
    if (run.code !== 0)
      return [
        {
          run: "hbsync sync → s3rver",
          note: `failed: ${run.stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 300)}`,
        },
      ];
    return [
      {
        run: "hbsync sync → s3rver (wall)",
        MiB: Math.round(bytes / MiB),
        seconds: run.seconds.toFixed(2),
        "MiB/s": (bytes / MiB / run.seconds).toFixed(1),
        "peak RSS MiB": run.peakRssMiB,
        "ratio vs curl": (curlSeconds / run.seconds).toFixed(2),
      },
    ];
  } finally {
    await s3.close();
  }
}

async function memory(args: string[]): Promise<Row[]> {
  const sizeMiB = flag(args, "size-mib", 4096);
  const tag = "arm64_sequoia";
  process.stderr.write(`memory: starting the emulator (one ${sizeMiB} MiB bottle; hashing it once)…\n`);
  const emulator = await startEmulator({
    fixtures: false,
    synthetic: { formulae: 1, tags: [tag], sizes: () => sizeMiB * MiB },
  });
  const dir = await mkdtemp(join(tmpdir(), "hbsync-bench-mem-"));
  try {
    const keyPath = await writeKey(emulator, dir);
    const run = await runChild(process.execPath, syncArgs(emulator, keyPath, join(dir, "mirror"), tag, 1));
    if (run.code !== 0) throw new Error(`hbsync sync failed (${run.code}): ${run.stderr.slice(-500)}`);
    const report = JSON.parse(run.stdout) as RunReport;
    await rm(join(dir, "mirror"), { recursive: true, force: true });
    const engine = await runChild(
      process.execPath,
      engineArgs(emulator, keyPath, join(dir, "mirror"), tag, 1),
    );
    if (engine.code !== 0)
      throw new Error(`engine sync failed (${engine.code}): ${engine.stderr.slice(0, 500)}`);
    const rows = [
      {
        run: "hbsync sync (CLI), one bottle → fs",
        MiB: Math.round(report.bytes.transferred / MiB),
        seconds: run.seconds.toFixed(2),
        "peak RSS MiB": run.peakRssMiB,
        target: "≤ 150",
      },
      {
        run: "sync engine, one bottle → fs",
        MiB: Math.round(report.bytes.transferred / MiB),
        seconds: engine.seconds.toFixed(2),
        "peak RSS MiB": engine.peakRssMiB,
        target: "≤ 150",
      },
    ];
    await save("memory", { sizeMiB, rows });
    return rows;
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function plan(args: string[]): Promise<Row[]> {
  const formulaeCount = flag(args, "formulae", 8000);
  const tagCount = flag(args, "tags", 6);
  const tags = [
    "arm64_sequoia",
    "arm64_sonoma",
    "arm64_ventura",
    "sonoma",
    "x86_64_linux",
    "arm64_linux",
    "ventura",
    "monterey",
  ].slice(0, tagCount);
  const hex = (n: number) => n.toString(16).padStart(64, "0");
  const formulae: FormulaInfo[] = Array.from({ length: formulaeCount }, (_, i) => ({
    name: i % 50 === 0 ? `lib${i}@${i % 7}` : `formula${i}`,
    versions: { stable: `1.${i % 100}.0` },
    revision: i % 3,
    bottle: {
      stable: {
        rebuild: i % 2,
        files: Object.fromEntries(tags.map((tag, t) => [tag, { cellar: ":any", sha256: hex(i * 16 + t) }])),
      },
    },
  }));
  // State: the same bottles, 5% with another sha256 (to transfer), plus 5% no longer named (superseded).
  const state: MirrorState = { version: 1, updatedAt: "", entries: {}, manifests: {} };
  const first = planSync({ formulae, state, tags, now: new Date(), retentionDays: 7 });
  first.transfers.forEach((ref, i) => {
    const key = i % 20 === 0 ? `bottles/gone${i}-1.0.${ref.tag}.bottle.tar.gz` : ref.key;
    state.entries[key] = {
      sha256: i % 20 === 1 ? hex(0) : ref.sha256,
      size: 1000,
      formula: ref.formula,
      tag: ref.tag,
      syncedAt: "2026-01-01T00:00:00Z",
    };
  });
  const timings: number[] = [];
  let result = first;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    result = planSync({ formulae, state, tags, now: new Date(), retentionDays: 7 });
    timings.push(performance.now() - started);
  }
  timings.sort((a, b) => a - b);
  const rows = [
    {
      run: "planSync",
      formulae: formulaeCount,
      tags: tags.length,
      "state entries": Object.keys(state.entries).length,
      transfers: result.transfers.length,
      keeps: result.keeps.length,
      supersede: result.supersede.length,
      "median ms": (timings[2] ?? 0).toFixed(1),
      "max ms": (timings[4] ?? 0).toFixed(1),
      target: "≤ 1000",
    },
  ];
  await save("plan", { rows, timingsMs: timings });
  return rows;
}

const [name = "all", ...rest] = process.argv.slice(2);
const benches: Record<string, (args: string[]) => Promise<Row[]>> = { plan, memory, throughput };
benches["runtime-bundles"] = async (args) => (await import("./runtime-bundles.ts")).runtimeBundles(args);
const chosen = name === "all" ? Object.keys(benches) : [name];
for (const bench of chosen) {
  const fn = benches[bench];
  if (!fn) {
    process.stderr.write(`unknown benchmark ${bench}; choose ${Object.keys(benches).join(", ")} or all\n`);
    process.exitCode = 2;
    break;
  }
  const rows = await fn(rest);
  process.stdout.write(`\n${bench}\n${table(rows)}\n`);
}
