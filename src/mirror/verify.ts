import { errorMessage } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { runPool } from "./pool.ts";
import { loadState } from "./state.ts";
import { hashStored } from "./transfer.ts";

export interface VerifyProblem {
  key: string;
  problem: "missing" | "size" | "sha256" | "unreadable";
  expected?: string;
  actual?: string;
}

export interface VerifyReport {
  location: string;
  /** Objects re-hashed (bottles, manifests, API files the state records). */
  checked: number;
  ok: number;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  store: BlobStore;
  /** Objects re-hashed at once (default 4). */
  concurrency?: number;
  onChecked?: (done: number, total: number) => void;
}

/** Re-hashes every object the state records and lists the missing and mismatched ones. */
export async function verifyMirror(options: VerifyOptions): Promise<VerifyReport> {
  const { store } = options;
  const state = await loadState(store);
  const expected: Array<{ key: string; sha256: string; size: number }> = [
    ...Object.entries(state.entries),
    ...Object.entries(state.manifests ?? {}),
    ...Object.entries(state.api ?? {}),
  ].map(([key, entry]) => ({ key, sha256: entry.sha256, size: entry.size }));
  let done = 0;
  const results = await runPool(
    expected,
    { name: "verifiers", limit: options.concurrency ?? 4 },
    async (item): Promise<VerifyProblem | null> => {
      try {
        const stat = await store.stat(item.key);
        if (stat === null) return { key: item.key, problem: "missing" };
        if (stat.size !== item.size) {
          return { key: item.key, problem: "size", expected: String(item.size), actual: String(stat.size) };
        }
        const actual = await hashStored(store, item.key);
        if (actual.sha256 !== item.sha256) {
          return { key: item.key, problem: "sha256", expected: item.sha256, actual: actual.sha256 };
        }
        return null;
      } catch (error) {
        return { key: item.key, problem: "unreadable", actual: errorMessage(error) };
      } finally {
        options.onChecked?.(++done, expected.length);
      }
    },
  );
  const problems = results.flatMap((result) => (result?.ok && result.value ? [result.value] : []));
  return {
    location: store.location,
    checked: expected.length,
    ok: expected.length - problems.length,
    problems,
  };
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
