/**
 * Benchmarks for the mirror engine (never run by the tests; no timing assertions anywhere):
 *
 *   npm run bench -- throughput [--total-mib 2048] [--bottles 500] [--concurrency 4] [--runs 1]
 *                               [--s3 [--s3-total-mib 256]] [--profile] [--size-kib N] [--levers]
 *                               [--only name,name] [--baseline DIR]
 *   npm run bench -- memory [--size-mib 4096] [--samples 3]
 *   npm run bench -- http-body [--total-mib 1024] [--bottles 100] [--runs 5]
 *   npm run bench -- plan [--formulae 8000] [--tags 6]
 *   npm run bench -- serve [--runs 3] [--seconds 8] [--connections 32]   (needs nginx and wrk)
 *   npm run bench -- shards [--bottles 200] [--total-mib 512] [--mib-per-connection 8] [--runs 1]
 *   npm run bench [-- targets] [--small] [--runs 3]   every row of issue 20's target table, one table
 *   npm run bench -- syscalls [--bottles 500] [--size-kib 16]   strace -c per bottle, ours vs curl
 *   npm run bench -- all
 *
 * throughput.ts and memory.ts say what they run; bench/README.md has the latest numbers.
 * plan: planSync of formulae × tags against a state of the same size (median of 5 runs).
 * Results: bench/results/<name>.json, and a table on stdout.
 */
import type { FormulaInfo } from "../src/homebrew/types.ts";
import { planSync } from "../src/mirror/plan.ts";
import type { MirrorState } from "../src/mirror/state.ts";
import { deleteDiscarded } from "./inodes.ts";
import { flag, type Row, save, table } from "./lib.ts";
import { memory } from "./memory.ts";
import { serve } from "./serve.ts";
import { throughput } from "./throughput.ts";

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

// Without a name: the target table (every row of issue 20's targets in one run).
const given = process.argv.slice(2);
const [name = "targets", ...rest] = given[0]?.startsWith("--") ? ["targets", ...given] : given;
const benches: Record<string, (args: string[]) => Promise<Row[]>> = { plan, memory, throughput, serve };
benches["http-body"] = async (args) => (await import("./http-body.ts")).httpBody(args);
benches.targets = async (args) => (await import("./targets.ts")).targets(args);
benches.syscalls = async (args) => (await import("./syscalls.ts")).syscalls(args);
benches["runtime-bundles"] = async (args) => (await import("./runtime-bundles.ts")).runtimeBundles(args);
benches.shards = async (args) => (await import("./shards.ts")).shards(args);
const chosen = name === "all" ? Object.keys(benches).filter((bench) => bench !== "targets") : [name];
try {
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
} finally {
  // Output the runs emptied but kept (bench/inodes.ts): deleted now that no run follows.
  await deleteDiscarded();
}
