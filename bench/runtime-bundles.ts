/**
 * The AWS artifacts (never run by the tests; no timing assertions anywhere):
 *
 *   npx tsx bench/runtime-bundles.ts [--runs 7]        (or: npm run bench -- runtime-bundles)
 *
 * - zipped size of each function from `npm run build` (target ≤ 1.5 MB: the code Lambda downloads on a
 *   cold start);
 * - cold import time of each bundle — `await import(bundle)` in a fresh `node` process, median of
 *   --runs processes (target ≤ 300 ms) — next to importing `@aws-sdk/client-s3` alone (unbundled, from
 *   node_modules) as the baseline: the part of a cold start our code controls.
 * Results: bench/results/runtime-bundles.json, and a table on stdout.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildFunctions } from "../scripts/build.ts";

type Row = Record<string, string | number>;

const REPO = resolve(import.meta.dirname, "..");
const MB = 1_000_000;
/** Enough for every handler module's init (it reads its environment at import). */
const IMPORT_ENV = {
  MIRROR_BUCKET: "bench-bucket",
  RUN_ID: "bench",
  SIZE_THRESHOLD_GB: "10",
  WORKER_FUNCTION_NAME: "bench-worker",
  ECS_CLUSTER: "bench",
  ECS_TASK_DEFINITION: "bench",
  ECS_CONTAINER_NAME: "sync",
  ECS_SUBNETS: "subnet-1",
  ECS_SECURITY_GROUPS: "sg-1",
  AWS_REGION: "us-east-1",
};

/** Milliseconds `await import(specifier)` takes in a fresh node process. */
function importTime(specifier: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`;
  return new Promise((resolveTime, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "", ...IMPORT_ENV },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (data: Buffer) => {
      stdout += data.toString();
    });
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = Number(stdout);
      if (code !== 0 || !Number.isFinite(ms))
        reject(new Error(`importing ${specifier} failed (${code}): ${stderr.slice(0, 400)}`));
      else resolveTime(ms);
    });
  });
}

async function median(
  runs: number,
  measure: () => Promise<number>,
): Promise<{ median: number; min: number; max: number }> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await measure());
  samples.sort((a, b) => a - b);
  return {
    median: samples[Math.floor(samples.length / 2)] ?? 0,
    min: samples[0] ?? 0,
    max: samples.at(-1) ?? 0,
  };
}

export async function runtimeBundles(args: string[] = []): Promise<Row[]> {
  const index = args.indexOf("--runs");
  const runs = index >= 0 ? Math.max(1, Number(args[index + 1]) || 7) : 7;
  const outDir = await mkdtemp(join(tmpdir(), "hbsync-bench-bundles-"));
  try {
    const manifest = await buildFunctions({ outDir, gitSha: "bench" });
    const rows: Row[] = [];
    const baseline = await median(runs, () => importTime("@aws-sdk/client-s3"));
    rows.push({
      artifact: "baseline: import @aws-sdk/client-s3",
      "zip MB": "",
      "bundle MB": "",
      "import median ms": baseline.median.toFixed(0),
      "min–max ms": `${baseline.min.toFixed(0)}–${baseline.max.toFixed(0)}`,
      "vs baseline": "1.00",
      target: "",
    });
    for (const fn of manifest.functions) {
      const url = pathToFileURL(join(outDir, fn.bundle)).href;
      const timing = await median(runs, () => importTime(url));
      rows.push({
        artifact: fn.file,
        "zip MB": (fn.size / MB).toFixed(2),
        "bundle MB": (fn.bundleSize / MB).toFixed(2),
        "import median ms": timing.median.toFixed(0),
        "min–max ms": `${timing.min.toFixed(0)}–${timing.max.toFixed(0)}`,
        "vs baseline": (timing.median / baseline.median).toFixed(2),
        target: "zip ≤ 1.5 MB, import ≤ 300 ms",
      });
    }
    await mkdir(join(REPO, "bench/results"), { recursive: true });
    await writeFile(
      join(REPO, "bench/results/runtime-bundles.json"),
      `${JSON.stringify({ runs, node: process.version, rows }, null, 2)}\n`,
    );
    return rows;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

function table(rows: Row[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => String(row[column] ?? "").length)),
  );
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ");
  return [
    line(columns),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map((row) => line(columns.map((c) => String(row[c] ?? "")))),
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.stdout.write(`\nruntime-bundles\n${table(await runtimeBundles(process.argv.slice(2)))}\n`);
}
