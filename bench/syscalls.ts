/**
 * syscalls: `strace -c -f` of one sync of --bottles bottles of --size-kib KiB each (default 500 ×
 * 16 KiB) by the bundled engine (like the ECS task) into a folder, next to the equal-work curl on the
 * same set (`curl --parallel`, `openssl dgst -sha256` of each file, `sync -f`): system calls per
 * bottle, by call. Under strace both run several times slower; only the counts mean anything.
 * Needs strace (Debian: apt-get install strace); skips with a message otherwise.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator } from "../src/emulator/emulator.ts";
import {
  bundledArgs,
  bundleEngine,
  flag,
  type Row,
  runChild,
  type SyncTarget,
  save,
  writeKey,
} from "./lib.ts";

const TAG = "arm64_sequoia";

export async function syscalls(args: string[]): Promise<Row[]> {
  try {
    execFileSync("strace", ["-V"], { stdio: "ignore" });
  } catch {
    const line = "syscalls: skipped: strace not installed (Debian: apt-get install strace)";
    process.stderr.write(`${line}\n`);
    return [{ run: line }];
  }
  const count = flag(args, "bottles", 500);
  const sizeKiB = flag(args, "size-kib", 16);
  const concurrency = flag(args, "concurrency", 4);
  const emulator = await startEmulator({
    fixtures: false,
    blobs: "raw",
    synthetic: { formulae: count, tags: [TAG], sizes: () => sizeKiB * 1024 },
  });
  const dir = await mkdtemp(join(tmpdir(), "hbsync-bench-strace-"));
  try {
    const keyPath = await writeKey(emulator, dir);
    const target: SyncTarget = { emulator, keyPath, dest: join(dir, "mirror"), tag: TAG, concurrency };
    const bundle = await bundleEngine(dir);
    const curlDir = join(dir, "curl");
    await mkdir(curlDir);
    const bottles = emulator.index.bottles;
    const list = bottles
      .map(
        (b) =>
          `url = "${emulator.registry}/${b.image}/blobs/sha256:${b.sha256}"\noutput = "${join(curlDir, b.sha256)}"`,
      )
      .join("\n");
    await writeFile(join(dir, "curl.list"), `${list}\n`);

    const traced = async (name: string, command: string, argv: string[]): Promise<Map<string, number>> => {
      const out = join(dir, `${name}.strace`);
      const run = await runChild("strace", ["-c", "-f", "-o", out, command, ...argv], { cwd: dir });
      if (run.code !== 0) throw new Error(`${name} failed (${run.code}): ${run.stderr.slice(-500)}`);
      return parseStrace(await readFile(out, "utf8"));
    };
    const ours = await traced("hbsync", process.execPath, bundledArgs(bundle, target));
    const curl = await traced("curl", "curl", [
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
    const sha = await traced("openssl", "sh", [
      "-c",
      'cd "$1" && ls | xargs openssl dgst -sha256 > /dev/null',
      "sh",
      curlDir,
    ]);
    const flush = await traced("sync", "sync", ["-f", curlDir]);
    const equalWork = new Map<string, number>();
    for (const counts of [curl, sha, flush])
      for (const [call, n] of counts) equalWork.set(call, (equalWork.get(call) ?? 0) + n);

    const perBottle = (n: number | undefined): string => ((n ?? 0) / bottles.length).toFixed(1);
    const calls = [...new Set([...ours.keys(), ...equalWork.keys()])].filter((c) => c !== "total");
    calls.sort((a, b) => (ours.get(b) ?? 0) - (ours.get(a) ?? 0));
    const rows: Row[] = [
      {
        syscall: "total",
        "hbsync (bundled engine)": perBottle(ours.get("total")),
        "curl --parallel": perBottle(curl.get("total")),
        "curl + openssl + sync -f": perBottle(equalWork.get("total")),
      },
    ];
    for (const call of calls.slice(0, 24)) {
      rows.push({
        syscall: call,
        "hbsync (bundled engine)": perBottle(ours.get(call)),
        "curl --parallel": perBottle(curl.get(call)),
        "curl + openssl + sync -f": perBottle(equalWork.get(call)),
      });
    }
    await save("syscalls", {
      bottles: bottles.length,
      sizeKiB,
      concurrency,
      hbsync: Object.fromEntries(ours),
      curl: Object.fromEntries(curl),
      equalWork: Object.fromEntries(equalWork),
      rows,
    });
    return rows;
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** strace -c's summary table: calls per system call, plus "total". */
function parseStrace(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (fields.length < 5 || !/^\d+(\.\d+)?$/.test(fields[0] ?? "")) continue;
    const name = fields[fields.length - 1] ?? "";
    const calls = Number(fields[3]);
    if (Number.isFinite(calls)) counts.set(name, calls);
  }
  return counts;
}
