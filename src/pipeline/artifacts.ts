/**
 * Artifacts of a version: the checksums a deployment records (from dist/manifest.json, written by
 * `npm run build`) and whether a version's artifacts still exist in the artifact store
 * (`artifacts/<version>/…`, the layout infra/terraform's artifacts bucket uses).
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { BlobStore } from "../storage/blob-store.ts";
import { PipelineError } from "./errors.ts";

export interface ArtifactChecksum {
  name: string;
  sha256: string;
}

export interface BuildManifest {
  /** The version the build was made from, when the manifest says. */
  version: string | undefined;
  artifacts: ArtifactChecksum[];
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Reads a build manifest. Accepts `{version?, artifacts|files: [{name|file|key, sha256}]}` or
 * `{version?, artifacts|files: {name: sha256 | {sha256}}}` so the build script's exact shape is not
 * pinned here. Returns undefined when the file does not exist; throws HBS-BLD-001 when it is unreadable.
 */
export async function readBuildManifest(path: string): Promise<BuildManifest | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new PipelineError("HBS-BLD-001", `cannot read ${path}: ${String(error)}`, {
      cause: error,
      file: path,
    });
  }
  return parseBuildManifest(text, path);
}

export function parseBuildManifest(text: string, path = "dist/manifest.json"): BuildManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new PipelineError("HBS-BLD-001", `${path} is not valid JSON`, { cause: error, file: path });
  }
  if (typeof data !== "object" || data === null) {
    throw new PipelineError("HBS-BLD-001", `${path} is not a JSON object`, { file: path });
  }
  const record = data as Record<string, unknown>;
  const list = record.artifacts ?? record.files ?? record.functions;
  const artifacts: ArtifactChecksum[] = [];
  if (Array.isArray(list)) {
    for (const item of list) {
      const entry = item as Record<string, unknown>;
      const name = entry.name ?? entry.file ?? entry.key;
      if (typeof name === "string" && typeof entry.sha256 === "string") {
        artifacts.push({ name, sha256: entry.sha256 });
      }
    }
  } else if (typeof list === "object" && list !== null) {
    for (const [name, value] of Object.entries(list)) {
      const sha256 = typeof value === "string" ? value : (value as Record<string, unknown> | null)?.sha256;
      if (typeof sha256 === "string") artifacts.push({ name, sha256 });
    }
  }
  const bad = artifacts.find((artifact) => !SHA256.test(artifact.sha256));
  if (bad) {
    throw new PipelineError("HBS-BLD-001", `${path}: ${bad.name} has no valid sha256 (got ${bad.sha256})`, {
      file: path,
    });
  }
  const version = typeof record.version === "string" ? record.version : undefined;
  return { version, artifacts };
}

/** The manifest's checksums if it belongs to `version` (or names no version); else none. */
export async function artifactChecksumsFor(
  manifestPath: string,
  version: string,
  cwd: string,
): Promise<{ artifacts: ArtifactChecksum[]; note?: string }> {
  const manifest = await readBuildManifest(resolve(cwd, manifestPath));
  if (!manifest) return { artifacts: [], note: `${manifestPath} not found: no artifact checksums recorded` };
  if (manifest.version && manifest.version !== version) {
    return {
      artifacts: [],
      note: `${manifestPath} is for ${manifest.version}, not ${version}: no artifact checksums recorded`,
    };
  }
  return { artifacts: manifest.artifacts };
}

export function artifactPrefix(version: string): string {
  return `artifacts/${version}/`;
}

export interface ArtifactAvailability {
  available: boolean;
  reason: string;
}

/**
 * Whether `version`'s artifacts are still in the store: `artifacts/<version>/manifest.json`, or every
 * artifact the ledger recorded for it under `artifacts/<version>/<name>`.
 */
export async function artifactsAvailable(
  store: BlobStore,
  version: string,
  recorded: readonly ArtifactChecksum[],
): Promise<ArtifactAvailability> {
  const prefix = artifactPrefix(version);
  if (await store.stat(`${prefix}manifest.json`)) {
    return { available: true, reason: `${store.location}/${prefix}manifest.json exists` };
  }
  if (recorded.length === 0) {
    return { available: false, reason: `${store.location}/${prefix}manifest.json not found` };
  }
  for (const artifact of recorded) {
    if (!(await store.stat(`${prefix}${artifact.name}`))) {
      return { available: false, reason: `${store.location}/${prefix}${artifact.name} not found` };
    }
  }
  return { available: true, reason: `all ${recorded.length} recorded artifacts exist under ${prefix}` };
}
