import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { ApiFile, ApiIndex } from "../../../src/homebrew/api-client.ts";
import { UpstreamError } from "../../../src/homebrew/errors.ts";
import { renderInternalPackages } from "../../../src/homebrew/internal-packages.ts";
import type { BlobResponse, BottleManifest } from "../../../src/homebrew/registry-client.ts";
import type { FormulaInfo } from "../../../src/homebrew/types.ts";
import { type MirrorSettings, type PrepareOptions, prepareSync } from "../../../src/mirror/prepare.ts";
import { type SyncOptions, syncMirror } from "../../../src/mirror/sync.ts";
import type { BlobStore } from "../../../src/storage/blob-store.ts";

/**
 * A tiny in-process upstream for unit tests of the engine: formulae whose bottles are synthetic bytes,
 * an index, manifests with sizes, blobs — plus scripted faults and request counters. (The real HTTP
 * emulator is exercised by the integration tests.)
 */
export type Fault = "503" | "429" | "404" | "corrupt" | "truncate";

export interface FakeUpstream {
  formulae: FormulaInfo[];
  bytes: Map<string, Buffer>;
  apiFiles: ApiFile[];
  /** Faults served, in order, per sha256 (then the real bytes). */
  faults: Map<string, Fault[]>;
  blobRequests: string[];
  manifestRequests: string[];
  api: { fetchIndex(): Promise<ApiIndex>; fetchInternalPackages(tag: string): Promise<ApiFile | null> };
  registry: {
    blob(
      image: string,
      sha256: string,
      options?: { onBytes?: (bytes: number) => void },
    ): Promise<BlobResponse>;
    manifest(image: string, reference: string): Promise<BottleManifest>;
  };
  shaOf(name: string, tag: string): string;
}

export const TAGS = ["arm64_sequoia", "x86_64_linux"];

export function settings(overrides: Partial<MirrorSettings> = {}): MirrorSettings {
  return {
    tags: TAGS,
    include: [],
    exclude: [],
    retentionDays: 7,
    concurrency: { checkers: 2, transfers: 2 },
    ...overrides,
  };
}

function sha(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `names` each get one bottle per tag in TAGS (content `<name>:<tag>:<version>` repeated). */
export function fakeUpstream(names: string[], options: { version?: string } = {}): FakeUpstream {
  const version = options.version ?? "1.0";
  const bytes = new Map<string, Buffer>();
  const formulae: FormulaInfo[] = names.map((name) => {
    const files: Record<string, { cellar: string; sha256: string }> = {};
    for (const tag of TAGS) {
      const body = Buffer.from(`${name}:${tag}:${version}\n`.repeat(50));
      bytes.set(sha(body), body);
      files[tag] = { cellar: ":any", sha256: sha(body) };
    }
    return { name, versions: { stable: version }, revision: 0, bottle: { stable: { rebuild: 0, files } } };
  });
  const formulaJson = JSON.stringify({ payload: JSON.stringify(formulae), signatures: [] });
  const apiFiles: ApiFile[] = [
    { key: "api/formula.jws.json", bytes: Buffer.from(formulaJson), sha256: sha(formulaJson) },
  ];
  const faults = new Map<string, Fault[]>();
  const blobRequests: string[] = [];
  const manifestRequests: string[] = [];
  const upstream: FakeUpstream = {
    formulae,
    bytes,
    apiFiles,
    faults,
    blobRequests,
    manifestRequests,
    api: {
      fetchIndex: async () => ({ formulae, files: apiFiles, rejected: [], missing: [] }),
      fetchInternalPackages: async (tag) => {
        // What an upstream serves: the per-tag file Homebrew's generator writes for these entries.
        const payload = renderInternalPackages(formulae, tag, {
          homebrewVersion: "6.0.18",
          generatedAt: 0,
          formulaTapGitHead: null,
          caskTapGitHead: null,
        });
        const text = JSON.stringify({ payload, signatures: [] });
        return { key: `api/internal/packages.${tag}.jws.json`, bytes: Buffer.from(text), sha256: sha(text) };
      },
    },
    registry: {
      async blob(image, digest, options) {
        // Counts the body as it is read, as the real client does (BlobSource's contract).
        const counted = (chunk: Buffer): Readable =>
          Readable.from(
            (async function* () {
              options?.onBytes?.(chunk.length);
              yield chunk;
            })(),
          );
        blobRequests.push(`${image}@${digest}`);
        const url = `fake://${image}/${digest}`;
        const body = bytes.get(digest);
        const fault = faults.get(digest)?.shift();
        if (fault === "503") throw new UpstreamError("HTTP 503", { status: 503, url });
        if (fault === "429") throw new UpstreamError("HTTP 429", { status: 429, url, retryAfterMs: 7000 });
        if (fault === "404" || !body) throw new UpstreamError("HTTP 404", { status: 404, url });
        if (fault === "corrupt") {
          const bad = Buffer.from(body);
          bad[0] = (bad[0] ?? 0) ^ 0xff;
          return { body: counted(bad), offset: 0, url, size: bad.length };
        }
        if (fault === "truncate") {
          return { body: counted(body.subarray(0, body.length - 10)), offset: 0, url };
        }
        return { body: counted(body), offset: 0, url, size: body.length };
      },
      async manifest(image, reference) {
        manifestRequests.push(`${image}:${reference}`);
        const formula = formulae.find((entry) => entry.name === image);
        const sizes = new Map<string, number>();
        const digests = new Map<string, string>();
        for (const [tag, file] of Object.entries(formula?.bottle.stable?.files ?? {})) {
          sizes.set(tag, bytes.get(file.sha256)?.length ?? 0);
          digests.set(tag, file.sha256);
        }
        const raw = Buffer.from(JSON.stringify({ image, reference, sizes: [...sizes] }));
        return { sizes, digests, raw, mediaType: "application/vnd.oci.image.index.v1+json", rejected: [] };
      },
    },
    shaOf(name, tag) {
      const file = formulae.find((entry) => entry.name === name)?.bottle.stable?.files[tag];
      if (!file) throw new Error(`no ${name} ${tag}`);
      return file.sha256;
    },
  };
  return upstream;
}

/** No waiting in tests: records the backoff delays instead. */
export function instantRetry(delays: number[] = []): {
  retries: number;
  sleep: (ms: number) => Promise<void>;
} {
  return {
    retries: 3,
    sleep: async (ms) => {
      delays.push(ms);
    },
  };
}

/** The fixed clock of the engine's unit tests. */
export const NOW = new Date("2026-03-10T12:00:00.000Z");

/** What a test run from `upstream` needs: its clients, the default settings, the fixed clock. */
function fromUpstream(store: BlobStore, upstream: FakeUpstream, runId: string) {
  return {
    store,
    api: upstream.api,
    registry: upstream.registry,
    settings: settings(),
    runId,
    now: () => NOW,
  };
}

/** A sync from `upstream` (fromUpstream, and retries that do not wait). */
export function syncFrom(
  store: BlobStore,
  upstream: FakeUpstream,
  runId: string,
  extra: Partial<SyncOptions> = {},
): ReturnType<typeof syncMirror> {
  return syncMirror({ ...fromUpstream(store, upstream, runId), retry: instantRetry(), ...extra });
}

/** prepareSync from `upstream` (writes nothing). */
export function prepareFrom(
  store: BlobStore,
  upstream: FakeUpstream,
  runId: string,
  extra: Partial<PrepareOptions> = {},
): ReturnType<typeof prepareSync> {
  return prepareSync({ ...fromUpstream(store, upstream, runId), ...extra });
}
