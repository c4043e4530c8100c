import { errorMessage } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { NoMirrorError } from "./errors.ts";
import { runPool } from "./pool.ts";
import { loadState, type MirrorState, STATE_KEY } from "./state.ts";
import { hashStored } from "./transfer.ts";

/**
 * What a recorded object is: a bottle, a registry manifest, a published API file, or an object of the
 * OCI layout (a second name for a bottle's or manifest's bytes: mirror.layouts: oci).
 */
export type ObjectKind = "bottles" | "manifests" | "api" | "oci";

export interface VerifyProblem {
  key: string;
  kind: ObjectKind;
  problem: "missing" | "size" | "sha256" | "unreadable";
  expected?: string;
  actual?: string;
}

export interface VerifyReport {
  location: string;
  /** Objects re-hashed (bottles, manifests, API files the state records). */
  checked: number;
  ok: number;
  /** `checked`, split by kind. */
  byKind: Record<ObjectKind, number>;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  store: BlobStore;
  /** The state to check against (default: `_sync/state.json`, which must exist: else NoMirrorError). */
  state?: MirrorState;
  /** Check only these keys (those the state records; default: every recorded object). */
  keys?: ReadonlySet<string>;
  /** Objects re-hashed at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
  onChecked?: (done: number, total: number) => void;
}

/** The objects a state records, each with its kind and expected digest. */
export function recordedObjects(
  state: MirrorState,
): Array<{ key: string; kind: ObjectKind; sha256: string; size: number }> {
  const of = (kind: ObjectKind, records: Record<string, { sha256: string; size: number }> | undefined) =>
    Object.entries(records ?? {}).map(([key, entry]) => ({
      key,
      kind,
      sha256: entry.sha256,
      size: entry.size,
    }));
  return [
    ...of("bottles", state.entries),
    ...of("bottles", state.portableRuby),
    ...of("manifests", state.manifests),
    ...of("api", state.api),
    ...of("oci", state.oci),
  ];
}

/**
 * Re-hashes every object the state records and lists the missing and mismatched ones. A store with no
 * `_sync/state.json` is not a mirror: NoMirrorError names it (rather than "verified 0 of 0").
 */
export async function verifyMirror(options: VerifyOptions): Promise<VerifyReport> {
  const { store } = options;
  let state = options.state;
  if (state === undefined) {
    if ((await store.stat(STATE_KEY)) === null) {
      throw new NoMirrorError(store.location, `${STATE_KEY} does not exist (no sync has written here)`);
    }
    state = await loadState(store);
  }
  const expected = recordedObjects(state).filter((item) => options.keys?.has(item.key) ?? true);
  const byKind: Record<ObjectKind, number> = { bottles: 0, manifests: 0, api: 0, oci: 0 };
  for (const item of expected) byKind[item.kind]++;
  let done = 0;
  const results = await runPool(
    expected,
    {
      name: "verifiers",
      limit: options.concurrency ?? 4,
      ...(options.signal ? { signal: options.signal } : {}),
    },
    async (item): Promise<VerifyProblem | null> => {
      const { key, kind } = item;
      try {
        const stat = await store.stat(key);
        if (stat === null) return { key, kind, problem: "missing" };
        if (stat.size !== item.size) {
          return { key, kind, problem: "size", expected: String(item.size), actual: String(stat.size) };
        }
        const actual = await hashStored(store, key);
        if (actual.sha256 !== item.sha256) {
          return { key, kind, problem: "sha256", expected: item.sha256, actual: actual.sha256 };
        }
        return null;
      } catch (error) {
        return { key, kind, problem: "unreadable", actual: errorMessage(error) };
      } finally {
        options.onChecked?.(++done, expected.length);
      }
    },
  );
  const problems = results.flatMap((result) => (result?.ok && result.value ? [result.value] : []));
  options.signal?.throwIfAborted();
  return {
    location: store.location,
    checked: expected.length,
    ok: expected.length - problems.length,
    byKind,
    problems,
  };
}

/** `135 bottles, 57 manifests, 7 API files` (`, 192 OCI objects` with the OCI layout) */
export function describeKinds(byKind: Record<ObjectKind, number>): string {
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  return (
    `${plural(byKind.bottles, "bottle")}, ${plural(byKind.manifests, "manifest")}, ${plural(byKind.api, "API file")}` +
    (byKind.oci > 0 ? `, ${plural(byKind.oci, "OCI object")}` : "")
  );
}

/** One line per report: `verified 199 of 199 objects in /m (135 bottles, 57 manifests, 7 API files)`. */
export function summarizeVerify(report: VerifyReport): string {
  return `verified ${report.ok} of ${report.checked} objects in ${report.location} (${describeKinds(report.byKind)})`;
}

export function describeProblem(problem: VerifyProblem): string {
  switch (problem.problem) {
    case "missing":
      return `${problem.key}: missing`;
    case "size":
      return `${problem.key}: size differs (expected ${problem.expected} bytes, got ${problem.actual})`;
    case "sha256":
      return `${problem.key}: sha256 differs (expected ${problem.expected}, got ${problem.actual})`;
    default:
      return `${problem.key}: unreadable (${problem.actual})`;
  }
}
