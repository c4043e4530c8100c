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
import { mkdir, mkdtemp, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { startEmulator } from "../src/emulator/emulator.ts";
import type { RunReport } from "../src/mirror/report.ts";
import { discard, emptyFiles, inodeProbe } from "./inodes.ts";
import {
  bundledArgs,
  bundleEngine,
  type ChildResult,
  cliArgs,
  engineArgs,
  flag,
  listFlag,
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
  /**
   * CPU the bench process spent while the runner's transfer ran (`ChildResult.parentCpuSeconds`):
   * the emulator serving it (in an s3 set also s3rver and the request counter), on the same cores.
   */
  upstreamCpuSeconds?: number;
}

/** Medians of one runner's samples. */
export interface Summary {
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  /** Median of the samples' upstreamCpuSeconds. */
  upstreamCpuSeconds: number;
  samples: Sample[];
}

export interface SetResult {
  rows: Row[];
  bytes: number;
  bottles: number;
  summary: Map<string, Summary>;
  /** With s3: requests s3rver answered per bottle key, per runner (median over runs). */
  s3RequestsPerBottle?: Map<string, number>;
  /** What creating one empty file in the set's folder cost before the runs (bench/inodes.ts), µs. */
  inodeMicros: number;
}

export { VERIFIED_CURL };

export async function throughput(args: string[]): Promise<Row[]> {
  const totalMiB = flag(args, "total-mib", 2048);
  const count = flag(args, "bottles", 500);
  const concurrency = flag(args, "concurrency", 4);
  const runs = Math.max(1, flag(args, "runs", 1));
  const baselineAt = args.indexOf("--baseline");
  const baseline = baselineAt >= 0 ? args[baselineAt + 1] : undefined;
  if (baselineAt >= 0 && !baseline) throw new Error("--baseline needs the folder of another checkout");
  const only = listFlag(args, "only");
  const { rows } = await measureSet({
    totalMiB,
    count,
    concurrency,
    runs,
    profile: args.includes("--profile"),
    s3: false,
    ...(args.includes("--size-kib") ? { sizeKiB: flag(args, "size-kib", 16) } : {}),
    ...(args.includes("--levers") ? { levers: LEVERS } : {}),
    ...(only ? { only } : {}),
    ...(baseline ? { baseline: resolve(baseline) } : {}),
  });
  if (args.includes("--s3")) {
    const s3MiB = flag(args, "s3-total-mib", 256);
    const s3Count = flag(args, "s3-bottles", Math.max(1, Math.round((count * s3MiB) / totalMiB)));
    const s3Set = await measureSet({
      totalMiB: s3MiB,
      count: s3Count,
      concurrency,
      runs,
      profile: false,
      s3: true,
    });
    rows.push(...s3Set.rows);
  }
  await save("throughput", { totalMiB, count, concurrency, runs, node: process.version, rows });
  return rows;
}

export async function measureSet(set: {
  totalMiB: number;
  count: number;
  concurrency: number;
  runs: number;
  profile: boolean;
  s3: boolean;
  /** Every bottle this size (instead of the log-uniform mix summing to totalMiB). */
  sizeKiB?: number;
  /** Extra engine rows: name → FsStore options (HBSYNC_BENCH_FS for bench/sync-child.ts). */
  levers?: Record<string, Record<string, unknown>>;
  /** Only the runners whose names start with one of these (default: all). */
  only?: string[];
  /** Another checkout (e.g. `git worktree add /tmp/base <commit>`): its CLI and bundled engine too. */
  baseline?: string;
}): Promise<SetResult> {
  const sizes =
    set.sizeKiB === undefined
      ? mixedSizes(set.count, set.totalMiB * MiB)
      : Array.from({ length: set.count }, () => (set.sizeKiB ?? 16) * 1024);
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
  const inodeMicros = await inodeProbe(dir);
  process.stderr.write(
    `throughput: creating a file in ${dir} takes ${inodeMicros.toFixed(0)} µs${inodeMicros > 100 ? " (slowed by recent deletions nearby: see bench/inodes.ts)" : ""}\n`,
  );
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
    const trash = new Trash(join(dir, "trash"), bytes);
    const settle = (path: string): Promise<void> => trash.put(path);
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
        const flush = await runChild("sync", ["-f", curlDir]);
        seconds += (performance.now() - flushStarted) / 1000;
        // The writeback `sync -f` waits for runs in its process, as the sync's own fsyncs do in the sync's.
        cpuSeconds += flush.cpuSeconds;
      }
      await settle(curlDir);
      return { ...sampleOf(run), seconds, cpuSeconds };
    };
    const plain = async (): Promise<Sample> => {
      const out = join(dir, "plain");
      const argv = ["--import", "tsx", join(REPO, "bench/plain-node.ts"), join(dir, "curl.list"), out];
      const run = await runChild(process.execPath, [...argv, String(set.concurrency)]);
      if (run.code !== 0) throw new Error(`plain-node failed (${run.code}): ${run.stderr.slice(-500)}`);
      await settle(out);
      return sampleOf(run);
    };
    const sync = async (what: string, argv: string[], env?: NodeJS.ProcessEnv): Promise<Sample> => {
      const run = await runChild(process.execPath, argv, env ? { cwd: dir, env } : {});
      await settle(target.dest);
      return fromReport(what, run);
    };

    const samples = new Map<string, Sample[]>();
    const add = (name: string, sample: Sample): void => {
      samples.set(name, [...(samples.get(name) ?? []), sample]);
    };
    let s3: { env: Record<string, string>; bucket: string; close(): Promise<void> } | undefined;
    let counter: RequestCounter | undefined;
    const s3Requests = new Map<string, number[]>();
    if (set.s3) {
      const server = await import("../tests/helpers/s3rver.ts").then((m) => m.startS3rver());
      // Every request through a counting proxy, so the table can say how many each bottle took.
      counter = await countingProxy(server.endpoint);
      s3 = { ...server, env: { ...server.env, AWS_ENDPOINT_URL_S3: counter.endpoint } };
    }
    const counted = (name: string, runner: () => Promise<Sample>) => async (): Promise<Sample> => {
      if (!counter) return runner();
      counter.reset();
      const sample = await runner();
      s3Requests.set(name, [...(s3Requests.get(name) ?? []), counter.bottleRequests() / bottles.length]);
      return sample;
    };
    try {
      for (let i = 0; i < set.runs; i++) {
        const runners: Array<[string, () => Promise<Sample>]> = [
          ["curl --parallel", () => curl(false)],
          [VERIFIED_CURL, () => curl(true)],
        ];
        if (s3) {
          const argv = cliArgs({ ...target, dest: `s3://${s3.bucket}/bench${i}` });
          const env = { ...process.env, ...s3.env };
          const name = "hbsync sync (CLI) → s3rver";
          runners.push([name, counted(name, () => sync("hbsync → s3rver", argv, env))]);
          const loop = [
            "--import",
            "tsx",
            join(REPO, "bench/s3-put-loop.ts"),
            join(dir, "curl.list"),
            s3.bucket,
            `loop${i}`,
            String(set.concurrency),
          ];
          runners.push([
            S3_PUT_LOOP,
            counted(S3_PUT_LOOP, async () => {
              const run = await runChild(process.execPath, loop, { env });
              if (run.code !== 0) throw new Error(`PUT loop failed (${run.code}): ${run.stderr.slice(-500)}`);
              return sampleOf(run);
            }),
          ]);
          runners.push(["hbsync sync (CLI) → fs", () => sync("hbsync → fs", cliArgs(target))]);
        } else {
          const profile =
            set.profile && i === 0 ? ["--cpu-prof", "--cpu-prof-dir", join(RESULTS, "profiles")] : [];
          runners.push(["reference: node http.get → file", plain]);
          runners.push(["hbsync sync (CLI) → fs", () => sync("hbsync sync", cliArgs(target))]);
          runners.push(["sync engine (tsx) → fs", () => sync("engine", engineArgs(target, profile))]);
          runners.push(["sync engine (bundled) → fs", () => sync("bundled", bundledArgs(bundle, target))]);
          for (const [lever, options] of Object.entries(set.levers ?? {})) {
            const env = { ...process.env, HBSYNC_BENCH_FS: JSON.stringify(options) };
            runners.push([`bundled, ${lever}`, () => sync(lever, bundledArgs(bundle, target), env)]);
          }
          if (set.baseline && baselineBundle) {
            const cli = cliArgs(target, set.baseline);
            runners.push([`${BASELINE}hbsync sync (CLI) → fs`, () => sync("baseline CLI", cli)]);
            const engine = bundledArgs(baselineBundle, target);
            runners.push([`${BASELINE}sync engine (bundled) → fs`, () => sync("baseline bundled", engine)]);
          }
        }
        // Rotate the order each run (no runner always goes first or right after another's deletes), and
        // flush dirty pages before each one (no run pays for the previous run's writeback).
        const chosen = set.only
          ? runners.filter(([name]) => set.only?.some((p) => name.startsWith(p)))
          : runners;
        for (let j = 0; j < chosen.length; j++) {
          const [name, runner] = chosen[(i + j) % chosen.length] as [string, () => Promise<Sample>];
          await runChild("sync", []);
          add(name, await runner());
        }
      }
    } finally {
      await s3?.close();
      await counter?.close();
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
        "upstream CPU s": median(list.map((s) => s.upstreamCpuSeconds ?? 0)).toFixed(1),
        "peak RSS MiB": median(list.map((s) => s.peakRssMiB)),
        "transfer phase s": transfer.length > 0 ? median(transfer).toFixed(2) : "",
        "ratio vs curl": isCurl ? "" : (curlSeconds / seconds).toFixed(2),
        "vs verified+durable curl": isCurl ? "" : (verifiedSeconds / seconds).toFixed(2),
        ...(set.baseline ? { "vs baseline": ratioTo(baselineOf(run), seconds) } : {}),
      });
    }
    const summary = new Map<string, Summary>();
    for (const [run, list] of samples) {
      summary.set(run, {
        seconds: median(list.map((s) => s.seconds)),
        cpuSeconds: median(list.map((s) => s.cpuSeconds)),
        peakRssMiB: median(list.map((s) => s.peakRssMiB)),
        upstreamCpuSeconds: median(list.map((s) => s.upstreamCpuSeconds ?? 0)),
        samples: list,
      });
    }
    for (const row of rows) {
      const perBottle = s3Requests.get(String(row.run));
      if (perBottle) row["S3 requests per bottle"] = median(perBottle).toFixed(2);
    }
    return {
      rows,
      bytes,
      bottles: bottles.length,
      inodeMicros,
      summary,
      ...(set.s3 ? { s3RequestsPerBottle: new Map([...s3Requests].map(([k, v]) => [k, median(v)])) } : {}),
    };
  } finally {
    await emulator.close();
    await discard(dir);
  }
}

const BASELINE = "baseline: ";
export const S3_PUT_LOOP = "plain @aws-sdk/client-s3 PutObject loop → s3rver";

interface RequestCounter {
  endpoint: string;
  reset(): void;
  /** Requests whose path names a bottle (`….bottle[.N].tar.gz`, any method or query) since the reset. */
  bottleRequests(): number;
  close(): Promise<void>;
}

/** The trash is emptied once it holds this much (between runs, untimed). */
const TRASH_LIMIT = 4 * 1024 * MiB;
/**
 * A set whose run writes at least this much empties the trash after every run: on a VM that hands
 * free memory back to its host, a file written into the page cache a truncation has just freed lands
 * ~4 × faster than one written into memory handed back (bench/README.md, "Memory handed back"), so
 * every runner must start from the same state.
 */
const EMPTY_EVERY_RUN = 1024 * MiB;

/**
 * Where a run's output goes when it is done: renamed aside, not deleted, so the next run does not pay
 * for this one's deletions (bench/inodes.ts: on this VM's ext4, which has no journal, each new inode
 * first skips the inodes deleted in the last 60–360 s, one lookup each; with deletions between runs,
 * 16 % of a 2,000 × 16 KiB sync's CPU was there, and a run creates 4 inodes per bottle to curl's 1).
 * Once it holds TRASH_LIMIT (never inside a small set), or after every run of a set that writes
 * EMPTY_EVERY_RUN or more, its files are emptied, which gives the disk space back and frees no inode;
 * everything is deleted when the bench ends.
 */
class Trash {
  private held = 0;
  private count = 0;

  constructor(
    private readonly dir: string,
    private readonly bytesPerRun: number,
  ) {}

  async put(path: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await rename(path, join(this.dir, String(this.count++))).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
    this.held += this.bytesPerRun;
    if (this.held < TRASH_LIMIT && this.bytesPerRun < EMPTY_EVERY_RUN) return;
    await emptyFiles(this.dir);
    await runChild("sync", ["-f", dirname(this.dir)]);
    this.held = 0;
  }
}

/** A bottle's file name, with or without its rebuild number (`….bottle.tar.gz`, `….bottle.1.tar.gz`). */
const BOTTLE_PATH = /\.bottle(\.\d+)?\.tar\.gz$/;

/** An HTTP proxy in front of `upstream` that counts the requests naming a bottle. */
async function countingProxy(upstream: string): Promise<RequestCounter> {
  const { createServer, request, Agent } = await import("node:http");
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL(upstream);
  let count = 0;
  const server = createServer((req, res) => {
    if (BOTTLE_PATH.test((req.url ?? "").split("?")[0] ?? "")) count++;
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (upstreamResponse) => {
        res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    reset: () => {
      count = 0;
    },
    bottleRequests: () => count,
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      agent.destroy();
    },
  };
}

/**
 * --levers: the bundled engine again with one of FsStore's per-object levers switched back off each
 * (the others on), so each lever's share shows against the default row in the same run.
 */
const LEVERS: Record<string, Record<string, unknown>> = {
  "no folder cache (check every folder per put)": { dirCache: false },
  "fsync per file, no syncfs": { flushMode: "files" },
  "syncfs, background fsync of every file": { backgroundSyncMinBytes: 0 },
};

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
  return { ...sampleOf(run), transferSeconds: (report.durationsMs.transfers ?? 0) / 1000 };
}

/** A child's wall time, CPU and peak RSS, with what the bench process spent serving it meanwhile. */
function sampleOf(run: ChildResult): Sample {
  return {
    seconds: run.seconds,
    cpuSeconds: run.cpuSeconds,
    peakRssMiB: run.peakRssMiB,
    upstreamCpuSeconds: run.parentCpuSeconds,
  };
}
