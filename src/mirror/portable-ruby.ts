/**
 * Homebrew's Portable Ruby, which a new client installs with `brew vendor-install ruby` before anything
 * else (Library/Homebrew/cmd/vendor-install.sh, utils/ruby.sh). What it downloads is named in brew's own
 * repository, so the mirror reads it from the brew it mirrors (mirror.brew_git):
 *
 *   Library/Homebrew/vendor/portable-ruby-version            `4.0.6` (HOMEBREW_PORTABLE_RUBY_VERSION)
 *   Library/Homebrew/vendor/portable-ruby-<arch>-<os>        `ruby_TAG=arm64_big_sur` / `ruby_SHA=<sha256>`
 *
 * and vendor-install.sh tries, in order: `$HOMEBREW_ARTIFACT_DOMAIN/v2/homebrew/core/portable-ruby/blobs/
 * sha256:<ruby_SHA>` (only that with HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK), `$HOMEBREW_BOTTLE_DOMAIN/
 * portable-ruby-<version>.<ruby_TAG>.bottle.tar.gz`, then ghcr.io; it refuses a download whose sha256 is
 * not ruby_SHA. The mirror stores each one at the flat name (`bottles/portable-ruby-…`) and, with
 * mirror.layouts: oci, at the OCI path (src/mirror/layouts.ts), fetched from the registry's
 * `portable-ruby` image by that sha256 and verified while streaming: other bytes are refused and nothing
 * is stored. They are recorded in the state's `portableRuby` section (verify re-hashes them).
 */
import { BOTTLES_PREFIX } from "../homebrew/naming.ts";
import type { RetryOptions } from "../homebrew/retry.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { PortableRubyError } from "./errors.ts";
import type { FetchedRepository } from "./git/publish.ts";
import { emptyOciReport, writeOciLayout } from "./layouts.ts";
import type { PlannedTransfer } from "./plan.ts";
import { loadState, type MirrorState, type StateEntry, saveState } from "./state.ts";
import { type BlobSource, transferBottle } from "./transfer.ts";

export { PortableRubyError };

export const PORTABLE_RUBY = "portable-ruby";
export const VENDOR_DIR = "Library/Homebrew/vendor";
/** The platform files vendor-install.sh sources: `portable-ruby-${ruby_PROCESSOR}-${ruby_OS}`. */
export const VENDOR_PLATFORMS = ["arm64-darwin", "x86_64-darwin", "arm64-linux", "x86_64-linux"] as const;

/** One Portable Ruby bottle a brew revision names. */
export interface PortableRuby {
  version: string;
  /** `arm64-darwin`, …: the vendor file it comes from. */
  platform: string;
  /** ruby_TAG: the bottle tag in its file name (`arm64_big_sur`, `x86_64_linux`). */
  tag: string;
  /** ruby_SHA. */
  sha256: string;
  /** `bottles/portable-ruby-<version>.<tag>.bottle.tar.gz` (HOMEBREW_BOTTLE_DOMAIN/<ruby_FILENAME>). */
  key: string;
}

const VERSION = /^\d+\.\d+\.\d+(_\d+)?$/;
const TAG = /^[a-z0-9_]+$/;
const SHA256 = /^[0-9a-f]{64}$/;

export function portableRubyKey(version: string, tag: string): string {
  return `${BOTTLES_PREFIX}${PORTABLE_RUBY}-${version}.${tag}.bottle.tar.gz`;
}

/**
 * The Portable Rubies named by a revision's vendor files (`files`: name under VENDOR_DIR → text, null when
 * the revision has none). A platform without a file is skipped (vendor-install then says no Ruby is
 * available for it); anything malformed is refused, naming `where`.
 */
export function parseVendorFiles(files: Record<string, string | null>, where: string): PortableRuby[] {
  const versionText = files["portable-ruby-version"];
  if (versionText === null || versionText === undefined) return [];
  const refuse = (file: string, what: string): never => {
    throw new PortableRubyError(`${where}: ${VENDOR_DIR}/${file} ${what}`, {
      fix: "mirror.upstream.brew_git must name Homebrew/brew's repository (or a faithful copy of it)",
    });
  };
  const version = versionText.split("\n")[0]?.trim() ?? "";
  if (!VERSION.test(version)) refuse("portable-ruby-version", `is not a version: ${JSON.stringify(version)}`);
  const rubies: PortableRuby[] = [];
  for (const platform of VENDOR_PLATFORMS) {
    const file = `portable-ruby-${platform}`;
    const text = files[file];
    if (text === null || text === undefined) continue;
    const values = new Map<string, string>();
    for (const line of text.split("\n")) {
      const match = /^\s*([A-Za-z_]+)=(\S*)\s*$/.exec(line);
      if (match) values.set(match[1] as string, match[2] as string);
    }
    const tag = values.get("ruby_TAG") ?? "";
    const sha256 = values.get("ruby_SHA") ?? "";
    if (!TAG.test(tag)) refuse(file, `has no valid ruby_TAG (got ${JSON.stringify(tag)})`);
    if (!SHA256.test(sha256)) refuse(file, `has no valid ruby_SHA (got ${JSON.stringify(sha256)})`);
    rubies.push({ version, platform, tag, sha256, key: portableRubyKey(version, tag) });
  }
  return rubies;
}

/** The files parseVendorFiles reads, by name under VENDOR_DIR. */
export function vendorFileNames(): string[] {
  return ["portable-ruby-version", ...VENDOR_PLATFORMS.map((platform) => `portable-ruby-${platform}`)];
}

/** What a run did with Portable Ruby (the run report's `portableRuby`). */
export interface PortableRubyReport {
  /** The versions the published brew revisions name. */
  versions: string[];
  /** Keys named now. */
  keys: string[];
  fetched: number;
  kept: number;
  /** Keys deleted: named by no published revision for longer than the retention. */
  pruned: number;
}

export interface MirrorPortableRubyOptions {
  store: BlobStore;
  registry: BlobSource;
  state: MirrorState;
  wanted: readonly PortableRuby[];
  retentionDays: number;
  now: () => Date;
  retry?: RetryOptions;
  signal?: AbortSignal;
}

/**
 * Brings every wanted Portable Ruby into the store (a recorded one whose object still has its size is
 * kept; anything else is fetched and verified) and records it in `state.portableRuby`. Recorded ones no
 * longer wanted start their retention, and are deleted once it is over. Throws on the first failure: the
 * caller then publishes nothing that names them.
 */
export async function mirrorPortableRuby(options: MirrorPortableRubyOptions): Promise<PortableRubyReport> {
  const { store, state } = options;
  const records: Record<string, StateEntry> = state.portableRuby ?? {};
  state.portableRuby = records;
  const stamp = options.now().toISOString();
  const report: PortableRubyReport = {
    versions: [...new Set(options.wanted.map((ruby) => ruby.version))],
    keys: [],
    fetched: 0,
    kept: 0,
    pruned: 0,
  };
  const wanted = new Map(options.wanted.map((ruby) => [ruby.key, ruby]));
  for (const ruby of wanted.values()) {
    report.keys.push(ruby.key);
    const recorded = records[ruby.key];
    const stat = recorded?.sha256 === ruby.sha256 ? await store.stat(ruby.key) : null;
    if (recorded && stat?.size === recorded.size) {
      delete recorded.supersededAt;
      report.kept++;
      continue;
    }
    const result = await fetchPortableRuby(store, options.registry, ruby, options);
    records[ruby.key] = {
      sha256: ruby.sha256,
      size: result.size,
      formula: PORTABLE_RUBY,
      tag: ruby.tag,
      syncedAt: stamp,
    };
    report.fetched++;
  }
  const retentionMs = options.retentionDays * 24 * 60 * 60 * 1000;
  for (const [key, record] of Object.entries(records)) {
    if (wanted.has(key)) continue;
    record.supersededAt ??= stamp;
    if (options.now().getTime() - Date.parse(record.supersededAt) < retentionMs) continue;
    await store.delete(key);
    delete records[key];
    report.pruned++;
  }
  return report;
}

/** One Portable Ruby from the registry's `portable-ruby` image, verified by its sha256 (transfer.ts). */
export async function fetchPortableRuby(
  store: BlobStore,
  registry: BlobSource,
  ruby: Pick<PortableRuby, "key" | "sha256" | "tag" | "version">,
  options: { retry?: RetryOptions; signal?: AbortSignal } = {},
): Promise<{ size: number }> {
  const ref: PlannedTransfer = {
    formula: PORTABLE_RUBY,
    pkgVersion: ruby.version,
    tag: ruby.tag,
    rebuild: 0,
    sha256: ruby.sha256,
    image: PORTABLE_RUBY,
    versionRebuild: ruby.version,
    key: ruby.key,
    manifestKey: `${BOTTLES_PREFIX}${PORTABLE_RUBY}/manifests/${ruby.version}`,
  };
  try {
    return await transferBottle(ref, {
      store,
      registry,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    throw new PortableRubyError(
      `Portable Ruby ${ruby.version} (${ruby.tag}) not mirrored: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/**
 * The revisions whose Portable Ruby a client may need: the branch HEAD names (`git clone` checks it out)
 * and the newest `X.Y.Z` tag (`brew update` moves a non-developer there), in that order.
 */
export function publishedRevisions(refs: Record<string, string>, head: string): Array<[string, string]> {
  const revisions: Array<[string, string]> = [];
  const headId = refs[head];
  if (headId !== undefined) revisions.push([head, headId]);
  const tags = Object.keys(refs)
    .map((ref) => /^refs\/tags\/(\d+)\.(\d+)\.(\d+)$/.exec(ref))
    .filter((match): match is RegExpExecArray => match !== null)
    .sort(
      (a, b) => Number(b[1]) - Number(a[1]) || Number(b[2]) - Number(a[2]) || Number(b[3]) - Number(a[3]),
    );
  const newest = tags[0]?.[0];
  if (newest !== undefined && refs[newest] !== undefined) revisions.push([newest, refs[newest] as string]);
  return revisions;
}

export interface PortableRubyPhaseOptions {
  store: BlobStore;
  registry: BlobSource;
  /** For messages: where the revisions come from. */
  upstream: string;
  layouts: readonly string[];
  retentionDays: number;
  now: () => Date;
  retry?: RetryOptions;
  signal?: AbortSignal;
}

/**
 * The brew git phase's `beforeRefs`: reads the vendor files of the revisions about to be published,
 * mirrors what they name (and its OCI name), and records it in the state — before any client can see
 * those refs. Throws (the refs then stay as they were) when a file is malformed or a download fails.
 */
export function portableRubyPhase(
  options: PortableRubyPhaseOptions,
): (repository: FetchedRepository) => Promise<PortableRubyReport> {
  return async (repository) => {
    const wanted = new Map<string, PortableRuby>();
    for (const [ref, id] of publishedRevisions(repository.refs, repository.head)) {
      const files = await repository.files(id, VENDOR_DIR, vendorFileNames());
      for (const ruby of parseVendorFiles(files, `${options.upstream} ${ref}`)) {
        if (!wanted.has(ruby.key)) wanted.set(ruby.key, ruby);
      }
    }
    const state = await loadState(options.store);
    const report = await mirrorPortableRuby({ ...options, state, wanted: [...wanted.values()] });
    if (options.layouts.includes("oci")) {
      const errors: string[] = [];
      await writeOciLayout({
        store: options.store,
        state,
        concurrency: 2,
        now: options.now,
        report: emptyOciReport(),
        onError: (error) => errors.push(error.message),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (errors.length > 0) throw new PortableRubyError(errors[0] as string);
    }
    await saveState(options.store, state, options.now());
    return report;
  };
}
