/**
 * targets: every row of issue 20's target table in one run, one table (bench/README.md):
 *   500 bottles / 2 GiB and 50 bottles / 2 GiB   hbsync sync (the CLI as installed) vs the equal-work curl
 *                                               (`curl --parallel`, `openssl dgst -sha256` of each file,
 *                                               `sync -f`) and bare curl; CPU-s per GiB
 *   2,000 bottles × 16 KiB                      the same comparison
 *   into s3rver                                 the CLI vs a plain @aws-sdk/client-s3 PutObject loop of the
 *                                               same bottles, same concurrency; S3 requests per bottle
 *   no-op re-sync of 50,000 state entries       wall time and blob requests of re-syncs that find nothing to do,
 *                                               settled and with --replan, in Homebrew's shape (~7,650
 *                                               formulae × 7 tags) and with a formula per entry (1 tag)
 *   hbsync --help                               wall time, next to `node -e 0`
 *   hbsync serve vs nginx                       bench/serve.ts (needs nginx and wrk)
 *   peak RSS, one 4 GiB bottle                  bench/memory.ts, 3 samples per row
 * Each comparison is measured in the same run, --runs times (default 3) in rotating order; medians.
 * --only sets,tiny,s3,noop,help,serve,memory runs only those groups of rows (the same run shape);
 * --entries N sets the no-op re-sync's state size; --profile writes a V8 CPU profile of each no-op
 * re-sync (the CLI as installed) to bench/results/profiles/.
 * --small runs everything at a quarter of the size (or less) for a machine where a full run takes too
 * long: 512 MiB sets, 500 small bottles, 5,000 state entries, a 1 GiB bottle. Results:
 * bench/results/targets.json (plus the sub-benches' own files), with `uptime` before and after.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { freshBuild } from "../bin/fresh-build.js";
import { startEmulator } from "../src/emulator/emulator.ts";
import type { RunReport } from "../src/mirror/report.ts";
import { discard } from "./inodes.ts";
import {
  cliArgs,
  cpuModel,
  flag,
  listFlag,
  MiB,
  median,
  pageReporting,
  REPO,
  RESULTS,
  type Row,
  runChild,
  type SyncTarget,
  save,
  uptime,
  writeKey,
} from "./lib.ts";
import { memory } from "./memory.ts";
import { serve } from "./serve.ts";
import { measureSet, S3_PUT_LOOP, type SetResult, type Summary, VERIFIED_CURL } from "./throughput.ts";

const TAG = "arm64_sequoia";
const CLI = "hbsync sync (CLI) → fs";
const BUNDLED = "sync engine (bundled) → fs";
const GiB = 1024 * MiB;
/** bench/plain-node.ts in throughput's runner list. */
const PLAIN_NODE = "reference: node http.get → file";
const PROFILES = join(RESULTS, "profiles");
/** The groups of rows `--only` chooses from, in the order they run. */
const GROUPS = ["sets", "tiny", "s3", "noop", "help", "serve", "memory"];

export async function targets(args: string[]): Promise<Row[]> {
  const small = args.includes("--small");
  const runs = Math.max(1, flag(args, "runs", 3));
  const scale = small ? 4 : 1;
  const load: string[] = [uptime()];
  ensureCliBuild();
  const groups = listFlag(args, "only") ?? GROUPS;
  const unknown = groups.filter((group) => !GROUPS.includes(group));
  if (unknown.length > 0) throw new Error(`--only ${unknown.join(",")}: choose from ${GROUPS.join(",")}`);
  const want = (group: string) => groups.includes(group);
  process.stderr.write(`targets: on ${cpuModel()}, ${cpus().length} CPUs, node ${process.version}\n`);
  const reporting = pageReporting();
  if (reporting?.active)
    process.stderr.write(
      `targets: this machine hands free memory back to its host (page reporting, blocks of order ${reporting.order}); touching it again costs system CPU (bench/README.md, "Memory handed back")\n`,
    );
  else if (reporting)
    process.stderr.write(
      `targets: page reporting is off (order ${reporting.order}: no block is that large)\n`,
    );

  const rows: Row[] = [];
  const only = ["curl", CLI, BUNDLED];
  /** Per set: what creating a file cost in its folder before its runs (bench/inodes.ts), µs. */
  const inodes: Record<string, number> = {};
  if (want("sets")) {
    const sets: Array<{ label: string; set: SetResult }> = [];
    for (const [label, count, totalMiB, target] of [
      [`${500 / scale} bottles / ${2048 / scale} MiB`, 500 / scale, 2048 / scale, 1.1],
      [`${Math.round(50 / scale)} bottles / ${2048 / scale} MiB`, Math.round(50 / scale), 2048 / scale, 1.3],
    ] as Array<[string, number, number, number]>) {
      const set = await measureSet({
        totalMiB,
        count,
        concurrency: 4,
        runs,
        profile: false,
        s3: false,
        only,
      });
      sets.push({ label, set });
      inodes[label] = Math.round(set.inodeMicros);
      rows.push(versusCurl(label, `≥ ${target.toFixed(2)} × equal-work curl`, set, target));
      load.push(uptime());
    }
    for (const { label, set } of sets) rows.push(cpuRow(label, set));
  }

  if (want("tiny")) {
    const tiny = 2000 / scale;
    const tinySet = await measureSet({
      totalMiB: (tiny * 16) / 1024,
      count: tiny,
      sizeKiB: 16,
      concurrency: 4,
      runs,
      profile: false,
      s3: false,
      // Node's own floor for the job: http.get piped into a file, no hash, manifest or fsync.
      only: [...only, PLAIN_NODE],
    });
    inodes[`${tiny} bottles × 16 KiB`] = Math.round(tinySet.inodeMicros);
    rows.push(versusCurl(`${tiny} bottles × 16 KiB`, "≥ 0.50 × equal-work curl", tinySet, 0.5));
    load.push(uptime());
  }

  if (want("s3")) {
    const s3MiB = 256 / scale;
    const s3Set = await measureSet({
      totalMiB: s3MiB,
      count: Math.round(63 / scale),
      concurrency: 4,
      runs,
      profile: false,
      s3: true,
    });
    rows.push(s3Row(`into s3rver (${Math.round(63 / scale)} bottles / ${s3MiB} MiB)`, s3Set));
    load.push(uptime());
  }

  if (want("noop")) {
    const entries = flag(args, "entries", 50_000 / (small ? 10 : 1));
    const profile = args.includes("--profile");
    // Homebrew's shape (~8,000 formulae, bottles for 6-7 tags), then the harsher one: a formula per entry.
    rows.push(...(await noopResync(entries, runs, profile, NOOP_TAGS)));
    rows.push(...(await noopResync(entries, runs, profile, [TAG])));
    load.push(uptime());
  }
  if (want("help")) {
    rows.push(await helpRow(Math.max(5, runs)));
    load.push(uptime());
  }

  if (want("serve")) {
    const serveRows = await serve(["--runs", String(runs), "--seconds", small ? "4" : "8"]);
    rows.push(...serveTargetRows(serveRows));
    load.push(uptime());
  }

  if (want("memory")) {
    const sizeMiB = 4096 / scale;
    const memoryRows = await memory(["--size-mib", String(sizeMiB), "--samples", String(Math.max(3, runs))]);
    rows.push(...memoryTargetRows(sizeMiB, memoryRows));
    load.push(uptime());
  }

  const after = pageReporting();
  const reportedMiB =
    reporting && after ? Math.round((after.reportedKiB - reporting.reportedKiB) / 1024) : null;
  if (reportedMiB !== null)
    process.stderr.write(`targets: ${reportedMiB} MiB handed back to the host meanwhile\n`);
  await save("targets", {
    small,
    runs,
    node: process.version,
    load,
    inodeMicros: inodes,
    pageReporting: { order: reporting?.order ?? null, active: reporting?.active ?? false, reportedMiB },
    rows,
  });
  process.stderr.write(`load: ${load.join("\n      ")}\n`);
  return rows;
}

/** Builds dist/cli when it is missing or stale: the CLI row is the installed CLI, not tsx. */
function ensureCliBuild(): void {
  if ("entry" in freshBuild(REPO)) return;
  process.stderr.write("targets: building dist/cli (npm run build:cli)…\n");
  execFileSync(process.execPath, ["--import", "tsx", join(REPO, "scripts/build.ts"), "--cli"], {
    cwd: REPO,
    stdio: ["ignore", "ignore", "inherit"],
  });
}

function secondsOf(set: SetResult, run: string): number {
  return set.summary.get(run)?.seconds ?? Number.NaN;
}

function versusCurl(label: string, target: string, set: SetResult, goal: number): Row {
  const cli = secondsOf(set, CLI);
  const bundled = secondsOf(set, BUNDLED);
  const verified = secondsOf(set, VERIFIED_CURL);
  const curl = secondsOf(set, "curl --parallel");
  const ratio = verified / cli;
  const plain = set.summary.get(PLAIN_NODE)?.seconds;
  const floor =
    plain === undefined
      ? ""
      : ` (Node's floor, http.get → file without hash, manifest or fsync: ${plain.toFixed(2)} s, ${(verified / plain).toFixed(2)} ×)`;
  return {
    case: label,
    target,
    hbsync: `${cli.toFixed(2)} s (bundled engine ${bundled.toFixed(2)} s)${coresBusy(set.summary.get(CLI))}`,
    "equal-work / reference": `${verified.toFixed(2)} s${floor}`,
    "bare curl": `${curl.toFixed(2)} s`,
    ratio: `${ratio.toFixed(2)} × (engine ${(verified / bundled).toFixed(2)}; vs bare curl ${(curl / cli).toFixed(2)})`,
    met: ratio >= goal ? "yes" : "no",
  };
}

/**
 * How busy the machine's cores were during a run: its CPU plus the emulator's serving it, over cores ×
 * wall. Near 100 %, the run is CPU-bound on the cores it shares with its upstream: only less CPU makes it
 * faster.
 */
function coresBusy(summary: Summary | undefined): string {
  if (summary === undefined) return "";
  const busy = (summary.cpuSeconds + summary.upstreamCpuSeconds) / (cpus().length * summary.seconds);
  return `; with the emulator's ${summary.upstreamCpuSeconds.toFixed(1)} CPU-s, ${cpus().length} cores ${Math.round(busy * 100)} % busy`;
}

function cpuRow(label: string, set: SetResult): Row {
  const gib = set.bytes / GiB;
  const cli = (set.summary.get(CLI)?.cpuSeconds ?? Number.NaN) / gib;
  const bundled = (set.summary.get(BUNDLED)?.cpuSeconds ?? Number.NaN) / gib;
  const curl = (set.summary.get("curl --parallel")?.cpuSeconds ?? Number.NaN) / gib;
  const verified = (set.summary.get(VERIFIED_CURL)?.cpuSeconds ?? Number.NaN) / gib;
  return {
    case: `CPU, ${label}`,
    target: "≤ 3 CPU-s per GiB",
    hbsync: `${cli.toFixed(2)} CPU-s/GiB (bundled engine ${bundled.toFixed(2)})`,
    "equal-work / reference": `${verified.toFixed(2)} CPU-s/GiB (curl + openssl)`,
    "bare curl": `${curl.toFixed(2)} CPU-s/GiB`,
    ratio: "",
    met: cli <= 3 ? "yes" : "no",
  };
}

function s3Row(label: string, set: SetResult): Row {
  const ours = secondsOf(set, "hbsync sync (CLI) → s3rver");
  const loop = secondsOf(set, S3_PUT_LOOP);
  const curl = secondsOf(set, "curl --parallel");
  const perBottle = set.s3RequestsPerBottle?.get("hbsync sync (CLI) → s3rver");
  const loopPerBottle = set.s3RequestsPerBottle?.get(S3_PUT_LOOP);
  const ratio = loop / ours;
  return {
    case: label,
    target: "≥ 0.90 × PUT loop; 1 request per single-part bottle",
    hbsync: `${ours.toFixed(2)} s, ${perBottle?.toFixed(2) ?? "?"} S3 requests per bottle`,
    "equal-work / reference": `PUT loop ${loop.toFixed(2)} s, ${loopPerBottle?.toFixed(2) ?? "?"} per bottle`,
    "bare curl": `${curl.toFixed(2)} s (to disk)`,
    ratio: `${ratio.toFixed(2)} ×`,
    met: ratio >= 0.9 && perBottle !== undefined && perBottle <= 1.0001 ? "yes" : "no",
  };
}

/** The tags of the Homebrew-shaped no-op: the synthetic catalogue gives ~6.54 bottles per formula on them. */
const NOOP_TAGS = [
  "arm64_sequoia",
  "arm64_sonoma",
  "arm64_ventura",
  "sonoma",
  "ventura",
  "arm64_linux",
  "x86_64_linux",
];
const BOTTLES_PER_FORMULA_ON_NOOP_TAGS = 6.54;

/**
 * A mirror of about `entries` bottles (tiny ones: the first sync is set-up, not measured) over `tags`,
 * then `runs` syncs that find nothing to do, timed (the CLI as installed) with the blob requests the
 * emulator counted: as they run (the mirror is settled: src/mirror/settled.ts), and with `--replan`
 * (planned in full, as the first run after an upgrade or a repair is).
 */
async function noopResync(entries: number, runs: number, profile: boolean, tags: string[]): Promise<Row[]> {
  const formulae = tags.length === 1 ? entries : Math.ceil(entries / BOTTLES_PER_FORMULA_ON_NOOP_TAGS);
  const shape = `${formulae} formulae × ${tags.length} tag${tags.length === 1 ? "" : "s"}`;
  process.stderr.write(`targets: no-op re-sync (${shape}): first syncing the mirror (set-up, not timed)…\n`);
  const emulator = await startEmulator({
    fixtures: false,
    blobs: "raw",
    synthetic: { formulae, tags, sizes: () => 512 },
  });
  const dir = await mkdtemp(join(tmpdir(), "hbsync-bench-noop-"));
  try {
    const keyPath = await writeKey(emulator, dir);
    const target: SyncTarget = {
      emulator,
      keyPath,
      dest: join(dir, "mirror"),
      tag: tags.join(","),
      concurrency: 8,
    };
    const first = await runChild(process.execPath, cliArgs(target));
    if (first.code !== 0) throw new Error(`first sync failed (${first.code}): ${first.stderr.slice(-500)}`);
    const rows: Row[] = [];
    for (const replan of [false, true]) {
      const seconds: number[] = [];
      const blobRequests: number[] = [];
      let transferred = 0;
      let kept = 0;
      for (let i = 0; i < runs; i++) {
        emulator.resetStats();
        const flags = profile ? ["--cpu-prof", "--cpu-prof-dir", PROFILES] : [];
        const run = await runChild(process.execPath, [
          ...flags,
          ...cliArgs(target),
          ...(replan ? ["--replan"] : []),
        ]);
        if (run.code !== 0) throw new Error(`re-sync failed (${run.code}): ${run.stderr.slice(-500)}`);
        const report = JSON.parse(run.stdout) as RunReport;
        transferred += report.counts.transferred;
        kept = report.counts.kept;
        seconds.push(run.seconds);
        blobRequests.push(emulator.stats.blobRequests + emulator.stats.blobHostRequests);
      }
      const wall = median(seconds);
      const blobs = Math.max(...blobRequests);
      const met = wall <= 2 && blobs === 0 && transferred === 0;
      rows.push({
        case: `no-op re-sync of ${kept} state entries (${shape})${replan ? ", --replan" : ""}`,
        target: replan ? "(for comparison: planned in full)" : "≤ 2 s wall, 0 blob requests",
        hbsync: `${wall.toFixed(2)} s (runs ${seconds.map((s) => s.toFixed(2)).join(" / ")}), ${blobs} blob requests, ${transferred} transferred`,
        "equal-work / reference": "",
        "bare curl": "",
        ratio: "",
        met: replan ? "" : met ? "yes" : "no",
      });
    }
    return rows;
  } finally {
    await emulator.close();
    await discard(dir);
  }
}

async function helpRow(runs: number): Promise<Row> {
  const help: number[] = [];
  const idle: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = await runChild(process.execPath, [join(REPO, "bin/hbsync.js"), "--help"]);
    if (run.code !== 0) throw new Error(`hbsync --help failed (${run.code}): ${run.stderr.slice(-300)}`);
    help.push(run.seconds);
    idle.push((await runChild(process.execPath, ["-e", "0"])).seconds);
  }
  const wall = median(help);
  return {
    case: "hbsync --help",
    target: "≤ 0.25 s",
    hbsync: `${wall.toFixed(3)} s`,
    "equal-work / reference": `node -e 0: ${median(idle).toFixed(3)} s`,
    "bare curl": "",
    ratio: `${(wall / median(idle)).toFixed(1)} × node -e 0`,
    met: wall <= 0.25 ? "yes" : "no",
  };
}

function serveTargetRows(rows: Row[]): Row[] {
  const ours = rows.find((row) => row.run === "hbsync serve");
  if (!ours)
    return [{ case: "hbsync serve vs nginx", target: "", hbsync: String(rows[0]?.run ?? "skipped") }];
  const one = rows.find((row) => row.run === "nginx (1 worker)");
  const rps = Number(String(ours["req/s vs nginx 1 | auto"]).split("|")[0]);
  const mbps = Number(String(ours["MB/s vs nginx 1 | auto"]).split("|")[0]);
  const smallKey = Object.keys(ours).find((key) => key.startsWith("small")) ?? "";
  const largeKey = Object.keys(ours).find((key) => key.startsWith("large")) ?? "";
  return [
    {
      case: `hbsync serve vs nginx (1 worker), ${smallKey}`,
      target: "≥ 0.50 × nginx",
      hbsync: String(ours[smallKey]),
      "equal-work / reference": `nginx ${one?.[smallKey] ?? "?"}`,
      "bare curl": "",
      ratio: `${rps.toFixed(2)} × (vs auto workers ${String(ours["req/s vs nginx 1 | auto"]).split("|")[1]?.trim()})`,
      met: rps >= 0.5 ? "yes" : "no",
    },
    {
      case: `hbsync serve vs nginx (1 worker), ${largeKey}`,
      target: "≥ 0.70 × nginx",
      hbsync: String(ours[largeKey]),
      "equal-work / reference": `nginx ${one?.[largeKey] ?? "?"}`,
      "bare curl": "",
      ratio: `${mbps.toFixed(2)} × (vs auto workers ${String(ours["MB/s vs nginx 1 | auto"]).split("|")[1]?.trim()})`,
      met: mbps >= 0.7 ? "yes" : "no",
    },
  ];
}

function memoryTargetRows(sizeMiB: number, rows: Row[]): Row[] {
  const curl = rows.find((row) => String(row.run).startsWith("context: curl"));
  return rows
    .filter((row) => !String(row.run).startsWith("context"))
    .map((row) => ({
      case: `peak RSS, one ${sizeMiB} MiB bottle: ${row.run}`,
      target: "≤ 150 MB",
      hbsync: `${row["peak RSS MiB"]} MiB (samples ${row.samples})`,
      "equal-work / reference": "",
      "bare curl": `${curl?.["peak RSS MiB"] ?? "?"} MiB`,
      ratio: "",
      // 150 MB = 143 MiB.
      met: Number(row["peak RSS MiB"]) * MiB <= 150e6 ? "yes" : "no",
    }));
}
