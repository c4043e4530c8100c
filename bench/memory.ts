/**
 * memory: peak RSS (VmHWM) while syncing one size-mib bottle from the emulator into a folder, for the
 * CLI (`node bin/hbsync.js sync`, tsx start-up included), the engine under tsx, and the engine bundled
 * like the ECS task — next to context in the same run: an idle `node`, an idle `node --import tsx`,
 * and curl fetching the same bottle to a file.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator } from "../src/emulator/emulator.ts";
import type { RunReport } from "../src/mirror/report.ts";
import {
  bundledArgs,
  bundleEngine,
  cliArgs,
  engineArgs,
  flag,
  MiB,
  median,
  type Row,
  runChild,
  type SyncTarget,
  save,
  writeKey,
} from "./lib.ts";

const TARGET = "≤ 150";

export async function memory(args: string[]): Promise<Row[]> {
  const sizeMiB = flag(args, "size-mib", 4096);
  const sampleCount = Math.max(1, flag(args, "samples", 3));
  const tag = "arm64_sequoia";
  process.stderr.write(`memory: starting the emulator (one ${sizeMiB} MiB bottle; hashing it once)…\n`);
  const emulator = await startEmulator({
    fixtures: false,
    // Raw pseudo-random bytes, not real bottles: a GiB-sized bottle is not built in memory.
    blobs: "raw",
    synthetic: { formulae: 1, tags: [tag], sizes: () => sizeMiB * MiB },
  });
  const dir = await mkdtemp(join(tmpdir(), "hbsync-bench-mem-"));
  try {
    const keyPath = await writeKey(emulator, dir);
    const target: SyncTarget = { emulator, keyPath, dest: join(dir, "mirror"), tag, concurrency: 1 };
    const bundle = await bundleEngine(dir);
    const rows: Row[] = [];
    const context = async (run: string, command: string, argv: string[]): Promise<void> => {
      const result = await runChild(command, argv);
      if (result.code !== 0) throw new Error(`${run} failed (${result.code}): ${result.stderr.slice(-500)}`);
      rows.push({ run, MiB: "", seconds: result.seconds.toFixed(2), "peak RSS MiB": result.peakRssMiB });
    };
    await context("context: node -e (idle 300 ms)", process.execPath, ["-e", "setTimeout(() => {}, 300)"]);
    await context("context: node --import tsx -e (idle)", process.execPath, [
      "--import",
      "tsx",
      "-e",
      "setTimeout(() => {}, 300)",
    ]);
    const bottle = emulator.index.bottles[0];
    if (bottle) {
      await context("context: curl, the same bottle → file", "curl", [
        "--silent",
        "--show-error",
        "--fail",
        "--location",
        "--header",
        "Authorization: Bearer QQ==",
        "--output",
        join(dir, "curl.bin"),
        `${emulator.registry}/${bottle.image}/blobs/sha256:${bottle.sha256}`,
      ]);
      await rm(join(dir, "curl.bin"), { force: true });
    }
    const sync = async (argv: string[]): Promise<{ seconds: number; rss: number; MiB: number }> => {
      const result = await runChild(process.execPath, argv);
      if (result.code !== 0) throw new Error(`sync failed (${result.code}): ${result.stderr.slice(-500)}`);
      const report = JSON.parse(result.stdout) as RunReport;
      await rm(target.dest, { recursive: true, force: true });
      return {
        seconds: result.seconds,
        rss: result.peakRssMiB,
        MiB: Math.round(report.bytes.transferred / MiB),
      };
    };
    const runs: Array<[string, string[]]> = [
      ["hbsync sync (CLI as installed: the dist/cli bundle), one bottle → fs", cliArgs(target)],
      ["sync engine (tsx), one bottle → fs", engineArgs(target)],
      ["sync engine (bundled, like the ECS task) → fs", bundledArgs(bundle, target)],
    ];
    const samples = new Map<string, Array<{ seconds: number; rss: number; MiB: number }>>();
    for (let i = 0; i < sampleCount; i++) {
      for (let j = 0; j < runs.length; j++) {
        const [run, argv] = runs[(i + j) % runs.length] as [string, string[]];
        samples.set(run, [...(samples.get(run) ?? []), await sync(argv)]);
      }
    }
    for (const [run] of runs) {
      const list = samples.get(run) ?? [];
      rows.push({
        run,
        MiB: list[0]?.MiB ?? "",
        seconds: median(list.map((s) => s.seconds)).toFixed(2),
        "peak RSS MiB": median(list.map((s) => s.rss)),
        samples: list.map((s) => s.rss).join(" / "),
        target: TARGET,
      });
    }
    await save("memory", { sizeMiB, samples: sampleCount, node: process.version, rows });
    return rows;
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}
