/**
 * A full disk without a small filesystem to fill: node:fs/promises wrapped so that the files this
 * process writes share a quota of `quota` bytes (freed again by unlink, rm and a rename over a file),
 * and so that the next write, fsync or rename can be made to fail. Failures are errors as Node raises
 * them (`code`, negative `errno`, `syscall`, the same message), ENOSPC or EDQUOT.
 *
 * Install it in a test file (vi.mock is hoisted above the imports, so the factory imports this file):
 *
 *   vi.mock("node:fs/promises", async (importOriginal) =>
 *     (await import("../../helpers/fs-faults.ts")).faultyFs(await importOriginal()));
 *
 * and the same for the synchronous calls of node:fs (a small put is written and renamed with them):
 *
 *   vi.mock("node:fs", async (importOriginal) =>
 *     (await import("../../helpers/fs-faults.ts")).faultySyncFs(await importOriginal()));
 *
 * then set `fsFaults` in a test and `resetFsFaults()` after it. Untouched, it changes nothing.
 */
import type * as Fs from "node:fs";
import type * as FsPromises from "node:fs/promises";
import { constants } from "node:os";

export type FullCode = "ENOSPC" | "EDQUOT";
export type FaultPoint = "write" | "fsync" | "rename";

export interface FsFaults {
  /** Bytes the process may hold in files it wrote; undefined: no limit. */
  quota: number | undefined;
  /** Bytes it holds now (written, minus what was deleted or renamed over). */
  used: number;
  code: FullCode;
  /** Once a write has failed, every later one fails too (someone else takes any space freed). */
  sticky: boolean;
  /** Fail this many of the next calls at each point (Infinity: all, until reset), whatever the quota. */
  failNext: Partial<Record<FaultPoint, number>>;
  /** Failures raised so far, per point. */
  raised: Record<FaultPoint, number>;
}

export const fsFaults: FsFaults = {
  quota: undefined,
  used: 0,
  code: "ENOSPC",
  sticky: false,
  failNext: {},
  raised: { write: 0, fsync: 0, rename: 0 },
};

export function resetFsFaults(): void {
  fsFaults.quota = undefined;
  fsFaults.used = 0;
  fsFaults.code = "ENOSPC";
  fsFaults.sticky = false;
  fsFaults.failNext = {};
  fsFaults.raised = { write: 0, fsync: 0, rename: 0 };
  sizes.clear();
}

const MESSAGES: Record<FullCode, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
};

/** The error Node raises when `syscall` fails with `code` (as libuv words it). */
export function errnoError(code: FullCode, syscall: string, detail = ""): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: ${MESSAGES[code]}, ${syscall}${detail}`);
  error.code = code;
  error.errno = -(constants.errno[code] as number);
  error.syscall = syscall;
  return error;
}

/** Bytes each file written through the wrapper holds, by path. */
const sizes = new Map<string, number>();

/** True (and one fewer left) when the next call at `point` is to fail. */
function failing(point: FaultPoint): boolean {
  const left = fsFaults.failNext[point] ?? 0;
  if (left <= 0) return false;
  fsFaults.failNext[point] = left - 1;
  return true;
}

function fail(point: FaultPoint, syscall: string, detail = ""): never {
  fsFaults.raised[point]++;
  throw errnoError(fsFaults.code, syscall, detail);
}

function charge(path: string, bytes: number): void {
  if (failing("write")) fail("write", "write");
  if (fsFaults.sticky && fsFaults.raised.write > 0 && bytes > 0) fail("write", "write");
  if (fsFaults.quota !== undefined && fsFaults.used + bytes > fsFaults.quota) fail("write", "write");
  fsFaults.used += bytes;
  sizes.set(path, (sizes.get(path) ?? 0) + bytes);
}

function free(path: string): void {
  fsFaults.used -= sizes.get(path) ?? 0;
  sizes.delete(path);
}

function byteLength(data: unknown): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/** node:fs/promises with the quota and the failures of `fsFaults`. */
export function faultyFs(real: typeof FsPromises): typeof FsPromises {
  const open = async (...args: Parameters<typeof real.open>): Promise<FsPromises.FileHandle> => {
    const handle = await real.open(...args);
    const path = String(args[0]);
    const flags = String(args[1] ?? "r");
    const { write, writev, writeFile, sync } = handle;
    // fsync of a file or folder opened for reading (how the store makes a deferred put durable).
    Object.assign(handle, {
      sync: async () => {
        if (failing("fsync")) fail("fsync", "fsync");
        return sync.call(handle);
      },
    });
    if (!/[wa+]/.test(flags)) return handle;
    if (flags.startsWith("w")) free(path);
    return Object.assign(handle, {
      write: (async (data: unknown, ...rest: unknown[]) => {
        const length = typeof rest[1] === "number" ? rest[1] : byteLength(data);
        charge(path, length);
        return (write as (...a: unknown[]) => Promise<unknown>).call(handle, data, ...rest);
      }) as typeof handle.write,
      writev: (async (buffers: NodeJS.ArrayBufferView[], position?: number) => {
        charge(
          path,
          buffers.reduce((sum, buffer) => sum + buffer.byteLength, 0),
        );
        return writev.call(handle, buffers, position);
      }) as typeof handle.writev,
      writeFile: (async (data: unknown, options?: unknown) => {
        charge(path, byteLength(data));
        return (writeFile as (...a: unknown[]) => Promise<void>).call(handle, data, options);
      }) as typeof handle.writeFile,
    });
  };
  const rename: typeof real.rename = async (from, to) => {
    failRename(from, to);
    await real.rename(from, to);
    renamed(from, to);
  };
  const unlink: typeof real.unlink = async (path) => {
    await real.unlink(path);
    free(String(path));
  };
  const rm: typeof real.rm = async (path, options) => {
    await real.rm(path, options);
    removed(path);
  };
  return { ...real, open: open as typeof real.open, rename, unlink, rm };
}

/** node:fs with the same quota and failures, for its synchronous writeFileSync, renameSync and rmSync. */
export function faultySyncFs(real: typeof Fs): typeof Fs {
  const writeFileSync = ((path: Fs.PathOrFileDescriptor, data: unknown, options?: unknown) => {
    charge(String(path), byteLength(data));
    return (real.writeFileSync as (...a: unknown[]) => void)(path, data, options);
  }) as typeof real.writeFileSync;
  const renameSync: typeof real.renameSync = (from, to) => {
    failRename(from, to);
    real.renameSync(from, to);
    renamed(from, to);
  };
  const rmSync: typeof real.rmSync = (path, options) => {
    real.rmSync(path, options);
    removed(path);
  };
  return { ...real, writeFileSync, renameSync, rmSync };
}

function failRename(from: Fs.PathLike, to: Fs.PathLike): void {
  if (failing("rename")) fail("rename", "rename", ` '${String(from)}' -> '${String(to)}'`);
}

/** A rename over a file frees what that file held; the moved file keeps what it holds. */
function renamed(from: Fs.PathLike, to: Fs.PathLike): void {
  free(String(to));
  const moved = sizes.get(String(from));
  sizes.delete(String(from));
  if (moved !== undefined) sizes.set(String(to), moved);
}

function removed(path: Fs.PathLike): void {
  const prefix = `${String(path)}/`;
  for (const known of [...sizes.keys()]) if (known === String(path) || known.startsWith(prefix)) free(known);
}
