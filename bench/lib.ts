/**
 * Shared by the benchmarks: child processes with wall time and peak RSS, the sync command lines, the
 * engine bundled like the deployed artifacts, tables and result files.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { build } from "esbuild";
import type { Emulator } from "../src/emulator/emulator.ts";

export const REPO = resolve(import.meta.dirname, "..");
export const RESULTS = join(REPO, "bench/results");
export const MiB = 1024 * 1024;

export type Row = Record<string, string | number>;

export interface ChildResult {
  code: number;
  seconds: number;
  peakRssMiB: number;
  /** User + system CPU seconds of the child (from /proc, last sample before it exited). */
  cpuSeconds: number;
  /**
   * User + system CPU seconds of this (the bench) process while the child ran: what serves the child
   * from here (the emulator, s3rver), which shares the cores with it.
   */
  parentCpuSeconds: number;
  stdout: string;
  stderr: string;
}

export function flag(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  const value = index >= 0 ? Number(args[index + 1]) : fallback;
  return Number.isFinite(value) ? value : fallback;
}

/** The comma-separated values after `--<name>`, or undefined when the flag is absent. */
export function listFlag(args: string[], name: string): string[] | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? (args[index + 1] ?? "").split(",") : undefined;
}

export function table(rows: Row[]): string {
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

/** Writes bench/results/<name>.json: `value` with the machine's CPU model beside it (`cpu`). */
export async function save(name: string, value: object): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
  await writeFile(
    join(RESULTS, `${name}.json`),
    `${JSON.stringify({ cpu: cpuModel(), ...value }, null, 2)}\n`,
  );
}

/** The CPU's model name (/proc/cpuinfo, else os.cpus()): ratios move when a VM lands on another host. */
export function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m)?.[1];
    if (line) return line.trim();
  } catch {
    // not Linux: fall through
  }
  return cpus()[0]?.model ?? "unknown";
}

/** `uptime` (the load averages), recorded with every bench: the machine is shared. */
export function uptime(): string {
  try {
    return execFileSync("uptime", { encoding: "utf8" }).trim();
  } catch {
    return "uptime unavailable";
  }
}

/**
 * Whether this (virtual) machine hands free memory back to its host (Linux free page reporting, e.g.
 * virtio-balloon): the order of the blocks it reports, whether any block is that large (the largest
 * order is the column count of /proc/buddyinfo less one), and the KiB reported so far; null without it.
 * Memory handed back costs ~1.6 s of system CPU per GiB when it is next touched, in whichever process
 * touches it, writes into the page cache included (bench/README.md, "Memory handed back").
 */
export function pageReporting(): { order: number; active: boolean; reportedKiB: number } | null {
  const dir = "/sys/module/page_reporting/parameters";
  try {
    const order = Number(readFileSync(join(dir, "page_reporting_order"), "utf8"));
    const reportedKiB = Number(readFileSync(join(dir, "reported_kib"), "utf8"));
    if (!Number.isFinite(order) || !Number.isFinite(reportedKiB)) return null;
    // "Node 0, zone DMA 0 0 …": one count per order, 0 to the largest.
    const zone = readFileSync("/proc/buddyinfo", "utf8").split("\n")[0] ?? "";
    const largest =
      zone
        .replace(/^.*zone\s+\S+/, "")
        .trim()
        .split(/\s+/).length - 1;
    return { order, active: order <= largest, reportedKiB };
  } catch {
    return null;
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const CLOCK_TICKS = 100;

/**
 * Runs a child process; resolves with exit code, wall time, peak RSS (VmHWM) and CPU time, both sampled
 * from /proc every 50 ms (VmHWM is the kernel's own high-water mark, so sampling loses nothing but the
 * last 50 ms).
 */
export async function runChild(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildResult> {
  const started = performance.now();
  const parentBefore = process.cpuUsage();
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
  let ticks = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, "utf8");
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
        const stat = await readFile(`/proc/${child.pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        ticks = Math.max(ticks, Number(fields[11]) + Number(fields[12]));
      } catch {
        // exited
      }
      await delay(50);
    }
  })();
  const code = await new Promise<number>((done) => child.on("exit", (exitCode) => done(exitCode ?? -1)));
  const parent = process.cpuUsage(parentBefore);
  running = false;
  await sampler;
  return {
    code,
    seconds: (performance.now() - started) / 1000,
    peakRssMiB: Math.round(peakKiB / 1024),
    cpuSeconds: ticks / CLOCK_TICKS,
    parentCpuSeconds: (parent.user + parent.system) / 1e6,
    stdout,
    stderr,
  };
}

/** Deterministic log-uniform sizes between 4 KiB and 64 MiB, scaled to sum to `total`. */
export function mixedSizes(count: number, total: number): number[] {
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const raw = Array.from({ length: count }, () =>
    Math.exp(Math.log(4096) + random() * (Math.log(64 * MiB) - Math.log(4096))),
  );
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((size) => Math.max(1024, Math.round((size / sum) * total)));
}

export async function writeKey(emulator: Emulator, dir: string): Promise<string> {
  const path = join(dir, "emulator.pem");
  await writeFile(path, emulator.publicKeyPem);
  return path;
}

export interface SyncTarget {
  emulator: Emulator;
  keyPath: string;
  dest: string;
  tag: string;
  concurrency: number;
}

/** `node bin/hbsync.js sync …` — the CLI as a user runs it (tsx transpiles at start-up). */
export function cliArgs(target: SyncTarget, repo: string = REPO): string[] {
  return [
    join(repo, "bin/hbsync.js"),
    "sync",
    // That checkout's own config.yaml: an older build refuses keys added since.
    "--config",
    join(repo, "config.yaml"),
    "--dest",
    target.dest,
    "--upstream-api",
    target.emulator.api,
    "--upstream-registry",
    target.emulator.registry,
    "--trusted-key",
    target.keyPath,
    "--tags",
    target.tag,
    "--transfers",
    String(target.concurrency),
    "--checkers",
    "8",
    "--json",
  ];
}

/** The engine-only child (bench/sync-child.ts) under tsx; `nodeFlags` go before it (e.g. --cpu-prof). */
export function engineArgs(target: SyncTarget, nodeFlags: string[] = []): string[] {
  return [...nodeFlags, "--import", "tsx", join(REPO, "bench/sync-child.ts"), ...childArgs(target)];
}

/**
 * The same child, pre-bundled (see bundleEngine): plain `node <the image's flags> engine.mjs`, no tsx,
 * run with the node flags the ECS image's entry point gives the task (imageNodeFlags).
 */
export function bundledArgs(bundle: string, target: SyncTarget): string[] {
  return [...imageNodeFlags(), bundle, ...childArgs(target)];
}

let imageFlags: string[] | undefined;

/**
 * The flags docker/Dockerfile's ENTRYPOINT passes to node before the task's script (exec form:
 * `["node", "--flag", …, "/app/task.mjs"]`), so the bundled-engine rows run the engine as the image does.
 */
export function imageNodeFlags(): string[] {
  if (imageFlags) return imageFlags;
  const text = readFileSync(join(REPO, "docker/Dockerfile"), "utf8");
  const entry = [...text.matchAll(/^ENTRYPOINT\s+(\[.*\])\s*$/gm)].at(-1)?.[1];
  const argv = entry === undefined ? undefined : (JSON.parse(entry) as unknown);
  if (!Array.isArray(argv) || argv[0] !== "node") {
    throw new Error(
      'docker/Dockerfile: no exec-form ENTRYPOINT ["node", …] to take the task\'s node flags from',
    );
  }
  imageFlags = argv.slice(1).filter((arg): arg is string => typeof arg === "string" && arg.startsWith("--"));
  return imageFlags;
}

function childArgs(target: SyncTarget): string[] {
  return [
    target.emulator.api,
    target.emulator.registry,
    target.keyPath,
    target.dest,
    target.tag,
    String(target.concurrency),
  ];
}

/**
 * bench/sync-child.ts bundled the way scripts/build.ts bundles the ECS task and the Lambda functions
 * (esbuild, ESM, minified, the `require` banner), so its numbers are those of the deployed shape of the
 * engine: no TypeScript transpiling at start-up, only the modules the engine uses.
 */
export async function bundleEngine(
  dir: string,
  repo: string = REPO,
  name = "engine",
  entry = "bench/sync-child.ts",
): Promise<string> {
  const outfile = join(dir, `${name}.mjs`);
  await build({
    entryPoints: [join(repo, entry)],
    absWorkingDir: repo,
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    banner: {
      js: 'import { createRequire as __benchCreateRequire } from "node:module"; const require = __benchCreateRequire(import.meta.url);',
    },
  });
  return outfile;
}
