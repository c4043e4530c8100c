/**
 * FsStore.sizes' system calls, on two threads when there are many keys: one lstat per key and per
 * folder on the way is most of a no-op re-sync at 100,000 recorded objects, and two such loops side by
 * side end about 1.3 × sooner than one on this project's 2-core machines (bench/README.md, "no-op
 * re-sync"). The loop below is one self-contained function so that the worker runs the very
 * code the main thread does: the worker is started from its source text (no separate file to bundle
 * for the CLI, Lambda and ECS builds) and gets node:fs as a parameter.
 */
import * as fs from "node:fs";
import { Worker } from "node:worker_threads";

/** In `out`: the size of a regular file; ABSENT when the key does not count; LINK for a symlink. */
export const ABSENT = -1;
export const LINK = -2;

/** A folder in which this many folders were looked up one by one is read once instead. */
export const LIST_FOLDERS_FROM = 64;

/** From this many keys, half of them are looked up by a worker thread. */
export const WORKER_FROM = 20_000;

/** What one thread knows about the folders on the way (kept across its batches). */
export interface FolderCache {
  /** Folder → reached through real folders only ("" is the root). */
  folders: Map<string, boolean>;
  /** Folders read whole: every folder in them is in `folders`; what is not, is no folder. */
  read: Set<string>;
  /** Folders looked up one by one in each parent, until `listFrom` make reading it cheaper. */
  looked: Map<string, number>;
}

export function folderCache(): FolderCache {
  return { folders: new Map([["", true]]), read: new Set(), looked: new Map() };
}

/**
 * For keys[from..to): out[i - from] is the size of the regular file the key names when it is reached
 * through real folders only, LINK when the key is a symlink (the caller asks `stat`), ABSENT otherwise.
 * Keys must be valid store keys (normal: no `.`, `..` or empty segment). Self-contained: it runs in a
 * worker from its source text, so it uses nothing but its parameters.
 */
export function sizesOf(
  files: Pick<typeof fs, "lstatSync" | "readdirSync">,
  root: string,
  keys: readonly string[],
  from: number,
  to: number,
  out: Float64Array,
  cache: FolderCache,
  listFrom: number,
): void {
  const gone = ["ENOENT", "ENOTDIR", "ELOOP", "ENAMETOOLONG"];
  const lstat = (path: string): fs.Stats | undefined => {
    try {
      return files.lstatSync(path, { throwIfNoEntry: false });
    } catch (error) {
      if (gone.includes((error as { code?: string }).code ?? "")) return undefined;
      throw error;
    }
  };
  const entriesOf = (path: string): fs.Dirent[] => {
    try {
      return files.readdirSync(path, { withFileTypes: true });
    } catch (error) {
      if (gone.includes((error as { code?: string }).code ?? "")) return [];
      throw error;
    }
  };
  const { folders, read, looked } = cache;
  const realFolder = (dir: string): boolean => {
    const known = folders.get(dir);
    if (known !== undefined) return known;
    const slash = dir.lastIndexOf("/");
    const parent = slash < 0 ? "" : dir.slice(0, slash);
    let real = realFolder(parent);
    if (real && read.has(parent)) real = false;
    else if (real) {
      const count = (looked.get(parent) ?? 0) + 1;
      looked.set(parent, count);
      if (count < listFrom) real = lstat(`${root}/${dir}`)?.isDirectory() === true;
      else {
        // Many folders looked up in this one (`bottles/` of the manifests): its entries' types, read
        // once, answer for all of them.
        const prefix = parent === "" ? "" : `${parent}/`;
        for (const entry of entriesOf(parent === "" ? root : `${root}/${parent}`))
          if (entry.isDirectory()) folders.set(`${prefix}${entry.name}`, true);
        read.add(parent);
        real = folders.get(dir) === true;
      }
    }
    folders.set(dir, real);
    return real;
  };
  for (let i = from; i < to; i++) {
    const key = keys[i] as string;
    const slash = key.lastIndexOf("/");
    out[i - from] = -1;
    if (!realFolder(slash < 0 ? "" : key.slice(0, slash))) continue;
    const info = lstat(`${root}/${key}`);
    if (info?.isFile()) out[i - from] = info.size;
    else if (info?.isSymbolicLink()) out[i - from] = -2;
  }
}

/**
 * The worker's program: sizesOf over all of workerData.keys, the sizes sent back (transferred). esbuild
 * (tsx, vitest, the bundles with names kept) may wrap the function's inner functions in its `__name`
 * helper: the program defines it.
 */
const WORKER_SOURCE = `
var __name = (target, value) => Object.defineProperty(target, "name", { value, configurable: true });
const files = require("node:fs");
const { parentPort, workerData } = require("node:worker_threads");
const sizesOf = ${sizesOf.toString()};
const out = new Float64Array(workerData.keys.length);
const cache = { folders: new Map([["", true]]), read: new Set(), looked: new Map() };
sizesOf(files, workerData.root, workerData.keys, 0, workerData.keys.length, out, cache, workerData.listFrom);
parentPort.postMessage(out, [out.buffer]);
`;

/**
 * sizesOf over `keys` in a worker thread; undefined when the worker could not run it (it could not
 * start, or a call failed): the caller then looks the keys up itself, and meets any real error there.
 * An abort of `signal` stops the worker (undefined).
 */
export function sizesInWorker(
  root: string,
  keys: readonly string[],
  signal?: AbortSignal,
): Promise<Float64Array | undefined> {
  return new Promise((resolveSizes) => {
    if (signal?.aborted) {
      resolveSizes(undefined);
      return;
    }
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { root, keys, listFrom: LIST_FOLDERS_FROM },
        // Plain JavaScript, run as a script: none of the process's flags (a loader such as tsx, or
        // --input-type=module, which would make `require` undefined).
        execArgv: [],
        stdout: false,
        stderr: false,
      });
    } catch {
      resolveSizes(undefined);
      return;
    }
    // Aborted: the worker is stopped (the caller, aborted too, looks nothing up itself).
    const stop = (): void => void worker.terminate();
    signal?.addEventListener("abort", stop, { once: true });
    worker.once("message", (sizes: Float64Array) => resolveSizes(sizes));
    worker.once("error", () => resolveSizes(undefined));
    worker.once("exit", () => {
      signal?.removeEventListener("abort", stop);
      resolveSizes(undefined);
    });
  });
}
