import type { BrewGitReport } from "./git/publish.ts";
import type { OciLayoutReport } from "./layouts.ts";
import type { MissingDependency, RejectedFormula } from "./plan.ts";

/** One failed object in a run. */
export interface RunError {
  key: string;
  message: string;
  status?: number;
}

/** `_sync/runs/<runId>.json`: what one run did (DESIGN.md §2). */
export interface RunReport {
  version: 1;
  runId: string;
  /** `dry-run` plans only and writes nothing. */
  status: "succeeded" | "failed" | "dry-run";
  location: string;
  startedAt: string;
  finishedAt: string;
  tags: string[];
  counts: {
    /** Formulae in the verified index. */
    formulae: number;
    /** Index entries refused (unsafe names, bad digests, …); never planned. */
    rejected: number;
    /** Bottles planned for transfer. */
    planned: number;
    /** Bottles downloaded and verified in this run. */
    transferred: number;
    /** Bottles found already in the store, re-hashed, and adopted without a download. */
    adopted: number;
    failed: number;
    /** Bottles already mirrored with the indexed sha256. */
    kept: number;
    manifestsStored: number;
    apiPublished: number;
    apiUnchanged: number;
    /** API files removed because the upstream no longer serves them (StoredPlan.apiGone). */
    apiRemoved: number;
    superseded: number;
    pruned: number;
  };
  bytes: {
    /** Sum of the sizes the manifests declare for the planned transfers (unknown sizes count 0). */
    planned: number;
    /** Bytes stored by this run's downloads. */
    transferred: number;
  };
  durationsMs: Record<string, number>;
  errors: RunError[];
  rejected: RejectedFormula[];
  /** brew's own git (mirror.brew_git), when the run published it. */
  git?: BrewGitReport;
  /** mirror.layouts beyond flat: what the run wrote and pruned in each (src/mirror/layouts.ts). */
  layouts?: { oci: OciLayoutReport };
  /** Dependencies of mirrored formulae that the index lacks (brew cannot install what needs them). */
  missingDependencies?: MissingDependency[];
}

export function emptyReport(runId: string, location: string, tags: string[], startedAt: Date): RunReport {
  return {
    version: 1,
    runId,
    status: "succeeded",
    location,
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    tags,
    counts: {
      formulae: 0,
      rejected: 0,
      planned: 0,
      transferred: 0,
      adopted: 0,
      failed: 0,
      kept: 0,
      manifestsStored: 0,
      apiPublished: 0,
      apiUnchanged: 0,
      apiRemoved: 0,
      superseded: 0,
      pruned: 0,
    },
    bytes: { planned: 0, transferred: 0 },
    durationsMs: {},
    errors: [],
    rejected: [],
  };
}

export const RUNS_PREFIX = "_sync/runs/";

export function runReportKey(runId: string): string {
  return `${RUNS_PREFIX}${runId}.json`;
}

/** `20260310T120000Z-1a2b3c`: sortable, unique enough, and a safe key segment. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  return `${stamp}-${Math.random().toString(16).slice(2, 8)}`;
}

/** Times an async step into `report.durationsMs[name]`. */
export async function timed<T>(report: RunReport, name: string, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } finally {
    report.durationsMs[name] = Math.round(performance.now() - started);
  }
}

/** One human line per report, for logs and the CLI. */
export function summarize(report: RunReport): string {
  const c = report.counts;
  return (
    `${report.status}: ${c.transferred} transferred (${formatBytes(report.bytes.transferred)}), ` +
    `${c.adopted} adopted, ${c.kept} unchanged, ${c.failed} failed, ${c.pruned} pruned, ` +
    `${c.rejected} rejected; API ${c.apiPublished} published, ${c.apiUnchanged} unchanged` +
    (c.apiRemoved > 0 ? `, ${c.apiRemoved} removed` : "") +
    (report.layouts ? `; OCI layout ${summarizeOci(report.layouts.oci)}` : "") +
    (report.git ? `; brew git ${summarizeGit(report.git)}` : "")
  );
}

/** `12 objects: 3 hard-linked (bytes stored once), 0 copied, 9 unchanged, 1 pruned` */
function summarizeOci(oci: OciLayoutReport): string {
  return (
    `${oci.objects} objects: ${oci.linked} hard-linked (bytes stored once), ${oci.copied} copied, ` +
    `${oci.unchanged} unchanged, ${oci.pruned} pruned` +
    (oci.failed > 0 ? `, ${oci.failed} failed` : "")
  );
}

function summarizeGit(git: BrewGitReport): string {
  if (git.status === "failed") return "failed";
  const packs = git.uploaded.length;
  const uploaded =
    packs === 0
      ? "no new pack"
      : `${packs} new pack${packs === 1 ? "" : "s"} (${formatBytes(git.bytesUploaded)})`;
  const ruby = git.portableRuby
    ? `; Portable Ruby ${git.portableRuby.versions.join(", ")}: ${git.portableRuby.fetched} fetched, ${git.portableRuby.kept} unchanged`
    : "";
  return `${git.status}: ${uploaded}, ${git.refs} refs, ${git.livePacks} packs listed${ruby}`;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** One warning line per missing dependency (at most `max`, then a count of the rest). */
export function missingDependencyLines(missing: readonly MissingDependency[], max = 10): string[] {
  const lines = missing
    .slice(0, max)
    .map(
      (dependency) =>
        `warning: ${dependency.name} is not in the upstream index; ${dependency.requiredBy.join(", ")} ${dependency.requiredBy.length === 1 ? "needs" : "need"} it on ${dependency.tags.join(", ")} (brew cannot install ${dependency.requiredBy.length === 1 ? "that" : "those"} from this mirror)`,
    );
  if (missing.length > max)
    lines.push(`warning: … and ${missing.length - max} more missing dependencies (see the report)`);
  return lines;
}
