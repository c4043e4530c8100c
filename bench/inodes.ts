/**
 * Deleting bench output without slowing down the runs after it. On ext4 without a journal (this
 * project's VMs: /proc/fs/jbd2 is empty), a new inode is not taken from those deleted in the last
 * 60 s, or 360 s while their inode-table block is not yet written back (`recently_deleted` in
 * fs/ext4/ialloc.c, RECENTCY_MIN and RECENTCY_DIRTY): each allocation tests the freed inodes of its
 * group one by one from the start, so after 10,000 deletions every file or folder created costs
 * 0.3–0.9 ms of kernel time instead of ~25 µs (perf: find_inode_bit → recently_deleted). A run that
 * creates 4 inodes per bottle (bottle, manifest, the manifest's two folders) pays that 4 times as often
 * as curl writing 1 file per bottle, which no production sync meets (nothing deletes thousands of files
 * just before a sync, and a journaled ext4 never makes the check).
 *
 * So bench output is emptied when it is no longer needed (truncated: its disk space comes back, no
 * inode is freed) and deleted when the bench process ends; `inodeProbe` says what a file creation costs
 * in the bench's folder before a set, so a reader sees whether an earlier deletion (another bench, a
 * test run) still weighs on it.
 */
import { closeSync, openSync } from "node:fs";
import { mkdir, readdir, rm, truncate } from "node:fs/promises";
import { join } from "node:path";

const discarded: string[] = [];

/** Truncates every regular file under `dir` to 0 bytes (folders and inodes stay). */
export async function emptyFiles(dir: string): Promise<void> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [];
      throw error;
    },
  );
  for (const entry of entries) if (entry.isFile()) await truncate(join(entry.parentPath, entry.name), 0);
}

/** `dir` is not needed any more: emptied now, deleted by deleteDiscarded when the bench ends. */
export async function discard(dir: string): Promise<void> {
  await emptyFiles(dir);
  discarded.push(dir);
}

/** Deletes everything discarded (the bench is over: no run comes after it). */
export async function deleteDiscarded(): Promise<void> {
  while (discarded.length > 0) {
    const dir = discarded.pop() as string;
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Microseconds per empty file created in a new folder under `dir` (median of `count` creations, each
 * a synchronous open with O_CREAT + close). The probe's files are discarded.
 */
export async function inodeProbe(dir: string, count = 1000): Promise<number> {
  const probe = join(dir, `inode-probe-${process.pid}-${Date.now()}`);
  await mkdir(probe, { recursive: true });
  const micros: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    closeSync(openSync(join(probe, String(i)), "wx"));
    micros.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  await discard(probe);
  micros.sort((a, b) => a - b);
  return micros[Math.floor(micros.length / 2)] ?? 0;
}
