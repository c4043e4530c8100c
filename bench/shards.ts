/**
 * shards: the wall time of one full run split over N = 1, 2, 3, 4 ECS tasks (docs/sharded-runs.md), in
 * the same run, against the emulator (in this process) on loopback:
 *   plan      the orchestrator core, in this process (index, plan, manifest sizes, RunTask recorded);
 *   tasks     N task processes — src/runtime/ecs/task.ts bundled like dist/ecs-task/task.mjs, plain
 *             `node` — started together with the environment RunTask gives them (RUN_ID, SHARD_INDEX,
 *             SHARD_COUNT; MIRROR_DEST: a fresh folder), until the last exits (its merge + publish included).
 * N = 1 is the unsplit path (no SHARD_* variables): the baseline every ratio is taken against.
 *
 * Two link models, both in the same run:
 *   limited   every blob connection throttled to --mib-per-connection (the emulator's `slow` fault):
 *             transfers bound by the network, as from ghcr.io to one Fargate task;
 *   loopback  no limit: on this 2-core machine the tasks share the CPU (hashing, TLS-free HTTP, the
 *             emulator itself), so more processes cannot go faster — the number says so.
 *   npm run bench -- shards [--bottles 200] [--total-mib 512] [--mib-per-connection 8] [--transfers 4]
 *                           [--runs 1] [--max 4] [--no-loopback]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator } from "../src/emulator/emulator.ts";
import { HomebrewApiClient } from "../src/homebrew/api-client.ts";
import { loadTrustedKey } from "../src/homebrew/keys.ts";
import { RegistryClient } from "../src/homebrew/registry-client.ts";
import { readPlan } from "../src/mirror/prepare.ts";
import type { RunReport } from "../src/mirror/report.ts";
import { runReportKey } from "../src/mirror/report.ts";
import { type ShardSpec, shardOf } from "../src/mirror/shards.ts";
import { readText } from "../src/mirror/state.ts";
import { silentNotifier } from "../src/runtime/events.ts";
import { orchestrate } from "../src/runtime/orchestrate.ts";
import { memoryTelemetry } from "../src/runtime/telemetry.ts";
import { FsStore } from "../src/storage/fs.ts";
import {
  bundleEngine,
  type ChildResult,
  flag,
  imageNodeFlags,
  MiB,
  median,
  mixedSizes,
  REPO,
  type Row,
  runChild,
  save,
  uptime,
  writeKey,
} from "./lib.ts";

const TAG = "arm64_sequoia";

interface Sample {
  planSeconds: number;
  taskSeconds: number;
  cpuSeconds: number;
  transferred: number;
  /** Bytes of the largest shard (the floor of the wall time when the link is the limit). */
  largestShardBytes: number;
}

export async function shards(args: string[]): Promise<Row[]> {
  const count = flag(args, "bottles", 200);
  const totalMiB = flag(args, "total-mib", 512);
  const perConnection = flag(args, "mib-per-connection", 8);
  const transfers = flag(args, "transfers", 4);
  const runs = Math.max(1, flag(args, "runs", 1));
  const max = Math.max(1, flag(args, "max", 4));
  const models = args.includes("--no-loopback") ? ["limited"] : ["limited", "loopback"];
  const sizes = mixedSizes(count, totalMiB * MiB);
  process.stderr.write(`shards: starting the emulator (${count} bottles, ${totalMiB} MiB)…\n`);
  const emulator = await startEmulator({
    fixtures: false,
    blobs: "raw",
    synthetic: { formulae: count, tags: [TAG], sizes: ({ index }) => sizes[index % sizes.length] ?? 4096 },
  });
  const dir = await mkdtemp(join(tmpdir(), "hbsync-bench-shards-"));
  const before = uptime();
  try {
    const keyPath = await writeKey(emulator, dir);
    // Bundled like dist/ecs-task/task.mjs, run with the image's node flags: no tsx start-up in the timings.
    const task = await bundleEngine(dir, REPO, "task", "src/runtime/ecs/task.ts");
    const bytes = emulator.index.bottles.reduce((sum, bottle) => sum + bottle.size, 0);
    const settings = {
      tags: [TAG],
      include: [],
      exclude: [],
      retentionDays: 7,
      concurrency: { checkers: 8, transfers },
    };
    let runNumber = 0;

    const once = async (n: number): Promise<Sample> => {
      const dest = join(dir, `mirror-${++runNumber}`);
      const store = new FsStore(dest);
      const runId = `bench-${runNumber}`;
      const started: ShardSpec[] = [];
      let single = false;
      const t0 = performance.now();
      await orchestrate(
        {
          store,
          api: new HomebrewApiClient({ apiBase: emulator.api, trustedKey: await loadTrustedKey(keyPath) }),
          registry: new RegistryClient({ registryBase: emulator.registry }),
          settings,
          dispatcher: {
            invokeWorker: async () => {
              throw new Error("the bench routes to ECS");
            },
            runTask: async (_runId, shard) => {
              if (shard) started.push(shard);
              else single = true;
              return { taskArn: `bench/${shard?.index ?? 0}` };
            },
          },
          notifier: silentNotifier,
          telemetry: memoryTelemetry(),
          environment: "bench",
          thresholdBytes: 0,
          owner: "bench:orchestrator",
          leaseMs: 30 * 60_000,
          shards: { maxTasks: n, bytesPerTask: 1 },
        },
        runId,
      );
      const planSeconds = (performance.now() - t0) / 1000;
      const perShard = new Array<number>(n).fill(0);
      for (const ref of (await readPlan(store, runId)).transfers) {
        const shard = shardOf(ref.formula, n);
        perShard[shard] = (perShard[shard] ?? 0) + (ref.size ?? 0);
      }
      const specs: Array<ShardSpec | undefined> = single ? [undefined] : started;
      if (specs.length !== n)
        throw new Error(`asked for ${n} tasks, the orchestrator started ${specs.length}`);
      const env = (shard: ShardSpec | undefined): NodeJS.ProcessEnv => ({
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        MIRROR_DEST: dest,
        ENVIRONMENT: "bench",
        MIRROR_TAGS: TAG,
        UPSTREAM_API_URL: emulator.api,
        UPSTREAM_REGISTRY_URL: emulator.registry,
        TRUSTED_KEY: keyPath,
        CHECKERS_CONCURRENCY: "8",
        TRANSFERS_CONCURRENCY: String(transfers),
        SLACK_ENABLED: "false",
        EMAIL_ENABLED: "false",
        POWERTOOLS_METRICS_DISABLED: "true",
        POWERTOOLS_LOG_LEVEL: "ERROR",
        RUN_ID: runId,
        ...(shard ? { SHARD_INDEX: String(shard.index), SHARD_COUNT: String(shard.count) } : {}),
      });
      const t1 = performance.now();
      const results: ChildResult[] = await Promise.all(
        specs.map((shard) =>
          runChild(process.execPath, [...imageNodeFlags(), task], { cwd: dir, env: env(shard) }),
        ),
      );
      const taskSeconds = (performance.now() - t1) / 1000;
      const failed = results.find((result) => result.code !== 0);
      if (failed) throw new Error(`a task failed (${failed.code}): ${failed.stderr.slice(-800)}`);
      const text = await readText(store, runReportKey(runId));
      const report = text ? (JSON.parse(text) as RunReport) : null;
      if (report?.status !== "succeeded") throw new Error(`run ${runId}: ${report?.status ?? "no report"}`);
      await rm(dest, { recursive: true, force: true });
      return {
        planSeconds,
        taskSeconds,
        cpuSeconds: results.reduce((sum, result) => sum + result.cpuSeconds, 0),
        transferred: report.counts.transferred,
        largestShardBytes: Math.max(...perShard),
      };
    };

    const rows: Row[] = [];
    for (const model of models) {
      emulator.faults.clear();
      if (model === "limited") {
        emulator.faults.inject({
          match: /\/blobs\//,
          host: "blob",
          times: Number.POSITIVE_INFINITY,
          fault: { kind: "slow", bytesPerSecond: perConnection * MiB },
        });
      }
      const samples = new Map<number, Sample[]>();
      for (let run = 0; run < runs; run++) {
        // Rotating order: no N always runs first (or last) on a shared machine.
        const order = Array.from({ length: max }, (_, i) => ((i + run) % max) + 1);
        for (const n of order) {
          process.stderr.write(`shards: ${model}, N = ${n}, run ${run + 1}/${runs}…\n`);
          samples.set(n, [...(samples.get(n) ?? []), await once(n)]);
        }
      }
      const base = median((samples.get(1) ?? []).map((s) => s.taskSeconds));
      for (let n = 1; n <= max; n++) {
        const list = samples.get(n) ?? [];
        const seconds = median(list.map((s) => s.taskSeconds));
        rows.push({
          link: model === "limited" ? `${perConnection} MiB/s per connection` : "loopback, no limit",
          tasks: n,
          "tasks s (median)": seconds.toFixed(2),
          "plan s": median(list.map((s) => s.planSeconds)).toFixed(2),
          "CPU s (all tasks)": median(list.map((s) => s.cpuSeconds)).toFixed(1),
          "MiB/s": (bytes / MiB / seconds).toFixed(0),
          "vs N=1": n === 1 ? "1.00" : (seconds / base).toFixed(2),
          "largest shard MiB": ((list[0]?.largestShardBytes ?? 0) / MiB).toFixed(0),
          bottles: list[0]?.transferred ?? 0,
        });
      }
    }
    await save("shards", {
      bottles: count,
      totalMiB,
      perConnectionMiB: perConnection,
      transfers,
      runs,
      node: process.version,
      uptimeBefore: before,
      uptimeAfter: uptime(),
      rows,
    });
    return rows;
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}
