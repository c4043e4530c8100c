import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { errorMessage } from "../../shared/errors.ts";
import { type RetryOptions, withRetry } from "../../shared/retry.ts";
import type { BlobStore } from "../../storage/blob-store.ts";
import { StateError } from "../errors.ts";
import type { Lease } from "../lock.ts";
import type { PortableRubyReport } from "../portable-ruby.ts";
import { readBytes } from "../state.ts";
import {
  BREW_GIT_PREFIX,
  BREW_GIT_RECORD_KEY,
  type BrewGitRecord,
  emptyRecord,
  HEAD_KEY,
  INFO_PACKS_KEY,
  INFO_REFS_KEY,
  infoPacks,
  isPackName,
  loadRecord,
  type PackRecord,
  packKey,
  parseInfoPacks,
  saveRecord,
} from "./record.ts";
import { GitError, runGit } from "./run-git.ts";

/**
 * brew's own repository for git's dumb HTTP protocol (mirror.brew_git; docs/brew-git.md): a bare
 * repository kept on local disk (`workDir`, a cache: it is rebuilt from the store's packs when empty)
 * fetches Homebrew/brew's branches and tags, and the store gets, under `git/brew.git/`, exactly what a
 * dumb-HTTP `git clone`/`git fetch` reads: `info/refs`, `HEAD`, `objects/info/packs` and the packs.
 *
 * - Incremental: each run uploads one new pack holding only what the new refs reach beyond the refs
 *   already covered (`git pack-objects --revs new… ^old…`); earlier packs are never re-uploaded.
 * - Refs last: packs → `_sync/git/brew.json` → `objects/info/packs` → `info/refs` → `HEAD`, so a client
 *   never reads a ref whose objects are not in a listed pack.
 * - Packs are merged when more than `maxPacks` are live (all but the largest into one). A merged pack
 *   leaves `objects/info/packs` at once but stays in the store for the grace period (retention_days,
 *   at least a day), like a superseded bottle: a client that read the older list still finds it.
 *   Merging only ever adds a pack holding the same objects, so every `info/refs` ever published stays
 *   satisfiable from the current list.
 */
export interface BrewGitOptions {
  store: BlobStore;
  /** Homebrew/brew's URL (or any URL or path git fetches from). */
  upstream: string;
  /** The local bare repository (created when absent). */
  workDir: string;
  /** Retired packs are deleted this many days after they left the list (at least 1). */
  retentionDays: number;
  /** Checked before anything is published or deleted: a run that lost it stops. */
  lease?: Lease;
  signal?: AbortSignal;
  now?: () => Date;
  /** Merge packs when more than this many are live (default 16). */
  maxPacks?: number;
  /** For `ls-remote` and `fetch` against the upstream (default: 3 attempts). */
  retry?: RetryOptions;
  onPhase?: (phase: string, detail?: string) => void;
  /**
   * Runs after the packs are in the store and before the refs are published (Portable Ruby: what the new
   * refs name must be in the mirror first). It reads the fetched refs; a throw fails the phase and the
   * previously published refs stay. Its result goes into the report's `portableRuby`.
   */
  beforeRefs?: (repository: FetchedRepository) => Promise<PortableRubyReport | undefined>;
}

/** The local repository after the fetch, for `beforeRefs`. */
export interface FetchedRepository {
  /** Branches and tags (`refs/heads/main`, `refs/tags/6.0.18`) → object id. */
  refs: Record<string, string>;
  /** The ref HEAD names. */
  head: string;
  /** The files under `folder` (a path in the tree) at `revision`, by name; absent ones are not listed. */
  files(revision: string, folder: string, names: readonly string[]): Promise<Record<string, string | null>>;
}

/** What the brew git phase did, in the run report. */
export interface BrewGitReport {
  status: "published" | "unchanged" | "failed";
  upstream: string;
  /** What HEAD names. */
  head?: string;
  /** Branches and tags published. */
  refs: number;
  /** Packs uploaded by this run (a new one, and a merged one when packs were merged). */
  uploaded: { name: string; size: number; objects: number }[];
  bytesUploaded: number;
  livePacks: number;
  /** Packs this run took out of `objects/info/packs` (kept for the grace period). */
  retired: number;
  /** Retired packs deleted after their grace period. */
  pruned: number;
  durationMs: number;
  /** Portable Ruby named by the published revisions (mirror.brew_git; src/mirror/portable-ruby.ts). */
  portableRuby?: PortableRubyReport;
  error?: string;
}

export const DEFAULT_MAX_PACKS = 16;
const DAY_MS = 24 * 60 * 60 * 1000;
const PACK_TYPE = "application/x-git-packed-objects";
const IDX_TYPE = "application/x-git-packed-objects-toc";
const TEXT_TYPE = "text/plain; charset=utf-8";

export async function publishBrewGit(options: BrewGitOptions): Promise<BrewGitReport> {
  const { store, workDir, upstream } = options;
  const now = options.now ?? (() => new Date());
  const emit = options.onPhase ?? (() => {});
  const started = performance.now();
  const signal = options.signal;
  const git = (args: string[], extra: { input?: string | Buffer } = {}): Promise<string> =>
    runGit(args, { gitDir: workDir, ...extra, ...(signal ? { signal } : {}) });
  const report = emptyGitReport(upstream);

  const record = (await loadRecord(store)) ?? emptyRecord(upstream);
  record.upstream = upstream;
  let saved = contentOf(record);
  const save = async (): Promise<void> => {
    if (contentOf(record) === saved) return;
    await saveRecord(store, record, now());
    saved = contentOf(record);
  };
  await ensureRepository(workDir, signal);
  emit("brew-git", `seeding ${workDir} from ${Object.keys(record.packs).length} published packs`);
  await seedPacks(store, record, workDir);
  await restoreRefs(git, record.refs);

  emit("brew-git", `fetching ${upstream}`);
  const retry = { retries: 2, baseMs: 2000, ...options.retry, ...(signal ? { signal } : {}) };
  const remoteHead = await withRetry(() => upstreamHead(upstream, signal), retry);
  await withRetry(
    () =>
      git([
        "fetch",
        "--quiet",
        "--prune",
        "--no-tags",
        "--force",
        upstream,
        "+refs/heads/*:refs/heads/*",
        "+refs/tags/*:refs/tags/*",
      ]),
    retry,
  );
  const refs = await localRefs(git);
  if (Object.keys(refs).length === 0) {
    throw new GitError(`${upstream} has no branches or tags to publish`, {
      command: `git fetch ${upstream}`,
      fix: "check mirror.upstream.brew_git: it must name Homebrew/brew's repository",
    });
  }
  const head = chooseHead(refs, remoteHead, record.head);
  report.head = head;
  report.refs = Object.keys(refs).length;
  signal?.throwIfAborted();

  const scratch = join(workDir, "hbsync-new");
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  const upload = async (pack: BuiltPack): Promise<void> => {
    await uploadPack(store, pack);
    report.uploaded.push({ name: pack.name, size: pack.record.size, objects: pack.record.objects });
    report.bytesUploaded += pack.record.size + pack.record.idxSize;
    // Into the local repository too: the next run finds it there instead of downloading it.
    for (const ext of ["pack", "idx"] as const)
      await rename(pack.files[ext], join(workDir, "objects/pack", `${pack.name}.${ext}`));
    record.packs[pack.name] = pack.record;
  };

  // 1. What the new refs reach beyond the refs already covered: one new pack.
  if (!sameRefs(refs, record.refs)) {
    const tips = unique(Object.values(refs));
    const covered = unique(Object.values(record.refs)).map((id) => `^${id}`);
    emit("brew-git", `packing ${tips.length} tips beyond ${covered.length} published`);
    const pack = await buildPack(git, scratch, ["--revs"], [...tips, ...covered].join("\n"), now());
    if (pack !== null) await upload(pack);
  }
  record.refs = refs;
  record.head = head;

  // 2. Too many packs: merge all but the largest into one (its objects are all in the local repository).
  const maxPacks = Math.max(2, options.maxPacks ?? DEFAULT_MAX_PACKS);
  const live = Object.entries(record.packs).sort(([, a], [, b]) => b.size - a.size);
  if (live.length > maxPacks) {
    const merged = live.slice(1).map(([name]) => name);
    emit("brew-git", `merging ${merged.length} packs`);
    const ids = new Set<string>();
    for (const name of merged) {
      const listing = await git(["show-index"], {
        input: await readFile(join(workDir, "objects/pack", `${name}.idx`)),
      });
      for (const line of listing.split("\n")) {
        const id = line.split(" ")[1];
        if (id) ids.add(id);
      }
    }
    const pack = await buildPack(git, scratch, [], [...ids].join("\n"), now());
    if (pack !== null) {
      await upload(pack);
      for (const name of merged) {
        if (name === pack.name) continue;
        delete record.packs[name];
        record.retired[name] = { retiredAt: now().toISOString() };
        report.retired++;
      }
    }
  }
  await rm(scratch, { recursive: true, force: true });
  // Every pack the record lists is in the store now: the record may say so.
  await save();

  // What the new refs name (Portable Ruby) goes in before they are published.
  if (options.beforeRefs) {
    const portableRuby = await options.beforeRefs({
      refs,
      head,
      files: async (revision, folder, names) => {
        const listed = new Set(
          (await git(["ls-tree", "--name-only", revision, `${folder}/`])).split("\n").filter(Boolean),
        );
        const out: Record<string, string | null> = {};
        for (const name of names) {
          const path = `${folder}/${name}`;
          out[name] = listed.has(path) ? await git(["show", `${revision}:${path}`]) : null;
        }
        return out;
      },
    });
    if (portableRuby) report.portableRuby = portableRuby;
  }

  // 3. The listing, then the refs, LAST; unchanged files are not rewritten (their Last-Modified holds).
  await options.lease?.renew();
  signal?.throwIfAborted();
  const previouslyListed = parseInfoPacks((await readBytes(store, INFO_PACKS_KEY))?.toString("utf8") ?? "");
  await git(["update-server-info"]);
  const infoRefs = await readFile(join(workDir, "info/refs"));
  const changed = [
    await putIfChanged(store, INFO_PACKS_KEY, Buffer.from(infoPacks(Object.keys(record.packs)))),
    await putIfChanged(store, INFO_REFS_KEY, infoRefs),
    await putIfChanged(store, HEAD_KEY, Buffer.from(`ref: ${head}\n`)),
  ];
  if (report.uploaded.length > 0 || changed.some(Boolean)) report.status = "published";
  emit("brew-git", `${report.status}: ${report.refs} refs, HEAD → ${head}`);

  // 4. Retired packs past their grace period go; so do packs no record names (a crashed run's upload):
  //    at once if no published list ever named them, else after the grace period.
  const graceMs = Math.max(1, options.retentionDays) * DAY_MS;
  for (const [name, { retiredAt }] of Object.entries(record.retired)) {
    if (now().getTime() - Date.parse(retiredAt) < graceMs) continue;
    await options.lease?.renew();
    await store.delete(packKey(name, "idx"));
    await store.delete(packKey(name, "pack"));
    delete record.retired[name];
    report.pruned++;
  }
  for (const name of await storedPacks(store)) {
    if (record.packs[name] || record.retired[name]) continue;
    if (previouslyListed.includes(name)) {
      record.retired[name] = { retiredAt: now().toISOString() };
      report.retired++;
    } else {
      await store.delete(packKey(name, "idx"));
      await store.delete(packKey(name, "pack"));
    }
  }
  await save();
  report.livePacks = Object.keys(record.packs).length;
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** Runs publishBrewGit and never throws: a failure is a `failed` report saying why (nothing is lost). */
export async function brewGitPhase(options: BrewGitOptions): Promise<BrewGitReport> {
  const started = performance.now();
  try {
    return await publishBrewGit(options);
  } catch (error) {
    return {
      ...emptyGitReport(options.upstream),
      status: "failed",
      durationMs: Math.round(performance.now() - started),
      error: errorMessage(error),
    };
  }
}

function emptyGitReport(upstream: string): BrewGitReport {
  const counts = { refs: 0, bytesUploaded: 0, livePacks: 0, retired: 0, pruned: 0, durationMs: 0 };
  return { status: "unchanged", upstream, uploaded: [], ...counts };
}

interface BuiltPack {
  name: string;
  files: { pack: string; idx: string };
  record: PackRecord;
}

async function ensureRepository(workDir: string, signal: AbortSignal | undefined): Promise<void> {
  const exists = await stat(join(workDir, "objects/pack")).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await mkdir(dirname(workDir), { recursive: true });
    await runGit(["init", "--quiet", "--bare", workDir], signal ? { signal } : {});
  }
  // A cache, never garbage-collected behind our back: the packs keep the names the store knows them by.
  for (const [key, value] of [
    ["gc.auto", "0"],
    ["maintenance.auto", "false"],
    ["core.logAllRefUpdates", "false"],
  ]) {
    await runGit(["config", key as string, value as string], {
      gitDir: workDir,
      ...(signal ? { signal } : {}),
    });
  }
}

/** Downloads into the local repository every live pack it lacks, checking each against the record. */
async function seedPacks(store: BlobStore, record: BrewGitRecord, workDir: string): Promise<void> {
  for (const [name, pack] of Object.entries(record.packs)) {
    for (const [ext, size, sha256] of [
      ["pack", pack.size, pack.sha256],
      ["idx", pack.idxSize, pack.idxSha256],
    ] as const) {
      const target = join(workDir, "objects/pack", `${name}.${ext}`);
      if ((await stat(target).catch(() => null))?.size === size) continue;
      const key = packKey(name, ext);
      const damaged = (why: string): StateError =>
        new StateError(`${key} ${why}`, {
          key,
          fix: `delete ${BREW_GIT_RECORD_KEY} and re-run: the sync publishes brew's git again from scratch`,
        });
      if ((await store.stat(key)) === null) throw damaged(`is missing, but ${BREW_GIT_RECORD_KEY} lists it`);
      const partial = `${target}.hbsync-partial`;
      const hash = createHash("sha256");
      let bytes = 0;
      const body = await store.get(key);
      body.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      await pipeline(body, createWriteStream(partial));
      const digest = hash.digest("hex");
      if (bytes !== size || digest !== sha256) {
        await rm(partial, { force: true });
        throw damaged(`differs from ${BREW_GIT_RECORD_KEY} (sha256 ${digest}, expected ${sha256})`);
      }
      await rename(partial, target);
    }
  }
}

/** Local refs the record covers but the local repository lacks (a fresh cache): created, so fetch negotiates. */
async function restoreRefs(
  git: (args: string[], extra?: { input?: string | Buffer }) => Promise<string>,
  covered: Record<string, string>,
): Promise<void> {
  const present = await localRefs(git);
  const missing = Object.entries(covered).filter(([ref]) => present[ref] === undefined);
  if (missing.length === 0) return;
  await git(["update-ref", "--stdin"], {
    input: missing.map(([ref, id]) => `create ${ref} ${id}\n`).join(""),
  });
}

async function localRefs(git: (args: string[]) => Promise<string>): Promise<Record<string, string>> {
  const out = await git(["for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags"]);
  const refs: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const [id, ref] = line.split(" ");
    if (id && ref) refs[ref] = id;
  }
  return refs;
}

/** The branch the upstream's HEAD names (`ls-remote --symref`), or undefined when it names none. */
async function upstreamHead(upstream: string, signal: AbortSignal | undefined): Promise<string | undefined> {
  const out = await runGit(["ls-remote", "--symref", upstream, "HEAD"], signal ? { signal } : {});
  return /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(out)?.[1];
}

function chooseHead(refs: Record<string, string>, remote: string | undefined, previous: string): string {
  for (const candidate of [remote, previous, "refs/heads/main", "refs/heads/master"]) {
    if (candidate && refs[candidate] !== undefined) return candidate;
  }
  return (
    Object.keys(refs)
      .sort()
      .find((ref) => ref.startsWith("refs/heads/")) ?? (Object.keys(refs)[0] as string)
  );
}

/** `git pack-objects` over stdin `input` → the pack in `scratch`, or null when it would hold no object. */
async function buildPack(
  git: (args: string[], extra?: { input?: string | Buffer }) => Promise<string>,
  scratch: string,
  flags: string[],
  input: string,
  now: Date,
): Promise<BuiltPack | null> {
  const hash = (
    await git(["pack-objects", ...flags, "--delta-base-offset", "--quiet", join(scratch, "pack")], {
      input: `${input}\n`,
    })
  ).trim();
  const name = `pack-${hash}`;
  const files = { pack: join(scratch, `${name}.pack`), idx: join(scratch, `${name}.idx`) };
  const objects = await idxObjectCount(files.idx);
  if (objects === 0) {
    await rm(files.pack, { force: true });
    await rm(files.idx, { force: true });
    return null;
  }
  const pack = await hashFile(files.pack);
  const idx = await hashFile(files.idx);
  return {
    name,
    files,
    record: {
      size: pack.size,
      sha256: pack.sha256,
      idxSize: idx.size,
      idxSha256: idx.sha256,
      objects,
      publishedAt: now.toISOString(),
    },
  };
}

/** The object count a version 2 pack index declares (the last fan-out entry). */
async function idxObjectCount(path: string): Promise<number> {
  const handle = await open(path, "r");
  try {
    const header = Buffer.alloc(8 + 256 * 4);
    await handle.read(header, 0, header.length, 0);
    const v2 = header.readUInt32BE(0) === 0xff744f63 && header.readUInt32BE(4) === 2;
    return header.readUInt32BE((v2 ? 8 : 0) + 255 * 4);
  } finally {
    await handle.close();
  }
}

async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest("hex") };
}

/** The pack first, then its index: git uses a pack only through its index. Both verified by the store. */
async function uploadPack(store: BlobStore, pack: BuiltPack): Promise<void> {
  await store.put(packKey(pack.name, "pack"), createReadStream(pack.files.pack), {
    size: pack.record.size,
    sha256: pack.record.sha256,
    contentType: PACK_TYPE,
  });
  await store.put(packKey(pack.name, "idx"), createReadStream(pack.files.idx), {
    size: pack.record.idxSize,
    sha256: pack.record.idxSha256,
    contentType: IDX_TYPE,
  });
}

async function putIfChanged(store: BlobStore, key: string, bytes: Buffer): Promise<boolean> {
  const current = await readBytes(store, key);
  if (current?.equals(bytes)) return false;
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  await store.put(key, bytes, { size: bytes.length, sha256, contentType: TEXT_TYPE });
  return true;
}

/** Pack names present under `git/brew.git/objects/pack/`. */
async function storedPacks(store: BlobStore): Promise<string[]> {
  const names = new Set<string>();
  for await (const entry of store.list(`${BREW_GIT_PREFIX}objects/pack/`)) {
    const file = entry.key.slice(`${BREW_GIT_PREFIX}objects/pack/`.length);
    const name = file.replace(/\.(pack|idx)$/, "");
    if (isPackName(name)) names.add(name);
  }
  return [...names];
}

/** The record without its timestamp: what decides whether it needs writing. */
function contentOf(record: BrewGitRecord): string {
  return JSON.stringify({ ...record, updatedAt: undefined });
}

function sameRefs(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
