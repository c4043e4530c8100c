import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyReport, type RunReport, runReportKey } from "../../../src/mirror/report.ts";
import type { MirrorState, StateEntry } from "../../../src/mirror/state.ts";
import { FsStore } from "../../../src/storage/fs.ts";

/** A temp folder mirror written with the engine's own document shapes (state, run reports, plans). */
export interface TempMirror {
  root: string;
  store: FsStore;
  writeState(entries: Record<string, StateEntry>, extra?: Partial<MirrorState>): Promise<void>;
  writeRun(report: RunReport): Promise<void>;
  writeJson(key: string, value: unknown): Promise<void>;
  remove(): Promise<void>;
}

export async function tempMirror(): Promise<TempMirror> {
  const root = await mkdtemp(join(tmpdir(), "hbsync-status-"));
  const store = new FsStore(root);
  const writeJson = async (key: string, value: unknown): Promise<void> => {
    await store.put(key, JSON.stringify(value));
  };
  return {
    root,
    store,
    writeJson,
    writeState: (entries, extra = {}) =>
      writeJson("_sync/state.json", {
        version: 1,
        updatedAt: "2026-03-10T12:05:00.000Z",
        entries,
        manifests: {},
        ...extra,
      }),
    writeRun: (report) => writeJson(runReportKey(report.runId), report),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

export function entry(
  formula: string,
  tag: string,
  size: number,
  extra: Partial<StateEntry> = {},
): StateEntry {
  return {
    sha256: "a".repeat(64),
    size,
    formula,
    tag,
    syncedAt: "2026-03-10T12:00:00.000Z",
    ...extra,
  };
}

/** A run report as the engine writes it, started at `startedAt` and lasting `seconds`. */
export function runReport(
  runId: string,
  startedAt: string,
  options: {
    status?: "succeeded" | "failed";
    transferred?: number;
    bytes?: number;
    seconds?: number;
    errors?: RunReport["errors"];
  } = {},
): RunReport {
  const report = emptyReport(runId, "/mirror", ["arm64_sequoia"], new Date(startedAt));
  report.status = options.status ?? "succeeded";
  report.finishedAt = new Date(Date.parse(startedAt) + (options.seconds ?? 60) * 1000).toISOString();
  report.counts.transferred = options.transferred ?? 0;
  report.bytes.transferred = options.bytes ?? 0;
  report.errors = options.errors ?? [];
  report.counts.failed = report.errors.length;
  return report;
}
