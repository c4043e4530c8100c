/**
 * The store's layouts (mirror.layouts). `flat` is the record: `bottles/<name>-<version>.<tag>.bottle.tar.gz`
 * and `bottles/<image>/manifests/<ref>` (HOMEBREW_BOTTLE_DOMAIN=<base>/bottles), always written. `oci`
 * adds what brew asks for with HOMEBREW_ARTIFACT_DOMAIN=<base>, which rewrites `https://ghcr.io/` to
 * `<base>/` (download_strategy/curl_download_strategy.rb `fetch`; docs/homebrew-contract.md):
 *
 *   v2/homebrew/core/<image>/blobs/sha256:<sha256>       a bottle's bytes (and portable Ruby's)
 *   v2/homebrew/core/<image>/manifests/<version_rebuild>  the manifest's bytes as the registry served them
 *
 * Each OCI object is a second name for a recorded object (`store.copy`: a hard link on a folder, so the
 * bytes are stored once; a server-side copy on S3), recorded in the state's `oci` section with the key it
 * came from. It is written after its source is in the store and before the API is published, and lives
 * exactly as long as a recorded object it names: pruned with it, or at once when `oci` is turned off.
 */
import { MIRROR_LAYOUTS } from "../config/schema.ts";
import { imageName } from "../homebrew/naming.ts";
import { errorMessage } from "../shared/errors.ts";
import type { BlobStore, CopyMethod } from "../storage/blob-store.ts";
import { runPool } from "./pool.ts";
import type { RunError } from "./report.ts";
import type { MirrorState, OciRecord } from "./state.ts";

export const LAYOUTS = MIRROR_LAYOUTS;
export type Layout = (typeof MIRROR_LAYOUTS)[number];

/** The registry tree the OCI layout mirrors: ghcr.io's `/v2/homebrew/core/`. */
export const OCI_PREFIX = "v2/homebrew/core/";
const FLAT_MANIFEST = /^bottles\/(.+\/manifests\/[^/]+)$/;

/** `v2/homebrew/core/openssl/3/blobs/sha256:<sha>` for a bottle of `openssl@3`. */
export function ociBlobKey(formula: string, sha256: string): string {
  return `${OCI_PREFIX}${imageName(formula)}/blobs/sha256:${sha256}`;
}

/** `bottles/<image>/manifests/<ref>` → `v2/homebrew/core/<image>/manifests/<ref>`; null for other keys. */
export function ociManifestKey(flatKey: string): string | null {
  const match = FLAT_MANIFEST.exec(flatKey);
  return match ? `${OCI_PREFIX}${match[1]}` : null;
}

export function isOciKey(key: string): boolean {
  return key.startsWith(OCI_PREFIX);
}

/** What the OCI layout must hold for a state: OCI key → the recorded object it copies. */
export function wantedOciObjects(
  state: MirrorState,
): Map<string, { source: string; sha256: string; size: number }> {
  const wanted = new Map<string, { source: string; sha256: string; size: number }>();
  for (const [key, entry] of [
    ...Object.entries(state.entries),
    ...Object.entries(state.portableRuby ?? {}),
  ]) {
    const ociKey = ociBlobKey(entry.formula, entry.sha256);
    // Two tags with the same bytes share one blob: the first recorded name is its source.
    if (!wanted.has(ociKey)) wanted.set(ociKey, { source: key, sha256: entry.sha256, size: entry.size });
  }
  for (const [key, entry] of Object.entries(state.manifests ?? {})) {
    const ociKey = ociManifestKey(key);
    if (ociKey !== null) wanted.set(ociKey, { source: key, sha256: entry.sha256, size: entry.size });
  }
  return wanted;
}

/** What the layout phase did, for the run report (`report.layouts.oci`). */
export interface OciLayoutReport {
  /** OCI objects the state names after the phase. */
  objects: number;
  /** Written this run as hard links (fs: the bytes stay stored once). */
  linked: number;
  /** Written this run as copies (S3 CopyObject; fs without hard links; a stream through put). */
  copied: number;
  /** Already in place with the recorded bytes. */
  unchanged: number;
  /** Deleted: their source left the state, or the layout was turned off. */
  pruned: number;
  /** Objects that could not be written (each is also a run error). */
  failed: number;
}

export function emptyOciReport(): OciLayoutReport {
  return { objects: 0, linked: 0, copied: 0, unchanged: 0, pruned: 0, failed: 0 };
}

export interface WriteLayoutOptions {
  store: BlobStore;
  state: MirrorState;
  concurrency: number;
  now: () => Date;
  signal?: AbortSignal;
  report: OciLayoutReport;
  onError: (error: RunError) => void;
}

/**
 * Writes every OCI object the state needs that is not in place: missing from the store (one listing of
 * `v2/homebrew/core/`), of another size, or recorded with other bytes (a manifest fetched again).
 * Records each in `state.oci`. A failure is a run error: the caller then does not publish.
 */
export async function writeOciLayout(options: WriteLayoutOptions): Promise<void> {
  const { store, state, report } = options;
  state.oci ??= {};
  const oci = state.oci;
  const present = new Map<string, number>();
  for await (const object of store.list(OCI_PREFIX)) present.set(object.key, object.size);
  const wanted = wantedOciObjects(state);
  const todo: Array<[string, { source: string; sha256: string; size: number }]> = [];
  for (const [key, want] of wanted) {
    const recorded = oci[key];
    if (recorded?.sha256 === want.sha256 && present.get(key) === want.size) report.unchanged++;
    else todo.push([key, want]);
  }
  const results = await runPool(
    todo,
    { name: "transfers", limit: options.concurrency, ...(options.signal ? { signal: options.signal } : {}) },
    async ([key, want]) => {
      const method = await placeCopy(store, want.source, key, want);
      oci[key] = {
        sha256: want.sha256,
        size: want.size,
        source: want.source,
        syncedAt: options.now().toISOString(),
      };
      return method;
    },
  );
  results.forEach((result, position) => {
    const key = todo[position]?.[0] ?? OCI_PREFIX;
    if (result === undefined) return;
    if (result.ok) {
      if (result.value === "link") report.linked++;
      else report.copied++;
      return;
    }
    report.failed++;
    options.onError({
      key,
      message: `OCI layout: ${key} not written from ${todo[position]?.[1].source}: ${errorMessage(result.error)}`,
    });
  });
  report.objects = Object.keys(oci).length;
}

/**
 * Deletes the OCI objects no recorded object needs any more (every one when the layout is off), and
 * any object under `v2/homebrew/core/` the state does not record (a crashed run's copy). Only after a
 * successful run, like every prune.
 */
export async function pruneOciLayout(options: {
  store: BlobStore;
  state: MirrorState;
  enabled: boolean;
  report: OciLayoutReport;
}): Promise<void> {
  const { store, state, report } = options;
  if (!options.enabled && state.oci === undefined) return;
  const oci: Record<string, OciRecord> = state.oci ?? {};
  const wanted = options.enabled ? wantedOciObjects(state) : new Map();
  const doomed = new Set(Object.keys(oci).filter((key) => !wanted.has(key)));
  for await (const object of store.list(OCI_PREFIX)) {
    if (!wanted.has(object.key) || oci[object.key] === undefined) doomed.add(object.key);
  }
  for (const key of doomed) {
    await store.delete(key);
    delete oci[key];
    report.pruned++;
  }
  if (options.enabled) state.oci = oci;
  else delete state.oci;
  report.objects = Object.keys(oci).length;
}

/** `store.copy`, or — on a store without it — the bytes streamed through a verified put. */
async function placeCopy(
  store: BlobStore,
  source: string,
  target: string,
  expected: { sha256: string; size: number },
): Promise<CopyMethod> {
  const options = { sha256: expected.sha256, size: expected.size, deferSync: true };
  if (store.copy) return store.copy(source, target, options);
  await store.put(target, await store.get(source), options);
  return "copy";
}
