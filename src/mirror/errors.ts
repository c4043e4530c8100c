import { HbsyncError, type HbsyncErrorOptions, oneLine } from "../shared/errors.ts";
import { StorageError, type StorageFullError } from "../storage/errors.ts";
import { formatBytes } from "./report.ts";

/** The base of every expected error in src/mirror. */
export class MirrorError extends HbsyncError {
  constructor(message: string, options: HbsyncErrorOptions = {}) {
    super(message, options);
    this.name = "MirrorError";
  }
}

/** One bottle or manifest could not be transferred (after retries), or arrived corrupted. */
export class TransferError extends MirrorError {
  readonly key: string;
  readonly status: number | undefined;

  constructor(message: string, context: { key: string; status?: number; cause?: unknown; fix?: string }) {
    super(message, { cause: context.cause, fix: context.fix });
    this.name = "TransferError";
    this.key = context.key;
    this.status = context.status;
  }
}

/** A Portable Ruby brew's vendor files name could not be read or mirrored (src/mirror/portable-ruby.ts). */
export class PortableRubyError extends MirrorError {
  constructor(message: string, options: { cause?: unknown; fix?: string } = {}) {
    super(message, options);
    this.name = "PortableRubyError";
  }
}

/** Another run holds `_sync/lock`. Exit 75 (EX_TEMPFAIL): try later. */
export class LockHeldError extends MirrorError {
  readonly runId: string;
  readonly owner: string;
  readonly expiresAt: string;

  constructor(holder: { runId: string; owner: string; expiresAt: string }, lockKey: string) {
    super(
      `another sync (run ${holder.runId}, owner ${holder.owner}) holds the lock until ${holder.expiresAt}`,
      {
        kind: "locked",
        fix: `try later; if that run is dead, \`hbsync unlock --dest …\` shows the holder of ${lockKey} and releases it`,
      },
    );
    this.name = "LockHeldError";
    this.runId = holder.runId;
    this.owner = holder.owner;
    this.expiresAt = holder.expiresAt;
  }
}

/** `_sync/state.json` (or a plan/report document) is unreadable. */
export class StateError extends MirrorError {
  readonly key: string;

  constructor(message: string, context: { key: string; cause?: unknown; fix?: string }) {
    super(message, { cause: context.cause, fix: context.fix });
    this.name = "StateError";
    this.key = context.key;
  }
}

/** A sync ran to the end but some transfers failed: nothing was published or pruned. */
export class SyncFailedError extends MirrorError {
  readonly runId: string;
  readonly failures: number;

  constructor(runId: string, failures: number, firstError: string) {
    super(
      `sync ${runId} failed: ${failures} transfer(s) did not complete (first: ${firstError}); the API was not published and nothing was pruned`,
      {
        fix: `see _sync/runs/${runId}.json for every error, then re-run: completed bottles are kept and not downloaded again`,
      },
    );
    this.name = "SyncFailedError";
    this.runId = runId;
    this.failures = failures;
  }
}

/** A run stopped by an error no phase expected; what it finished is recorded and kept. */
export class RunFailedError extends MirrorError {
  readonly runId: string;

  constructor(runId: string, cause: unknown, reportKey: string | undefined) {
    super(
      `sync ${runId} failed: ${oneLine(cause)}${reportKey ? ` (report: ${reportKey})` : " (the run report could not be written either)"}`,
      {
        cause,
        fix: "re-run the sync: completed bottles are kept and not downloaded again; if it fails the same way, see docs/troubleshooting.md",
      },
    );
    this.name = "RunFailedError";
    this.runId = runId;
  }
}

/**
 * A sync stopped because the store is full (ENOSPC) or over quota (EDQUOT): no transfer started after
 * the first such write, the ones in flight ended, and what the run stored is kept. A StorageError (the
 * store is what failed, not hbsync), in one line: the store, the free space the run still needs
 * (planned bytes minus stored), and whether the state and the report could be written.
 */
export class RunOutOfSpaceError extends StorageError {
  readonly runId: string;
  readonly location: string;
  readonly neededBytes: number;

  constructor(details: {
    runId: string;
    full: StorageFullError;
    /** Bytes the run planned to write (bottles, and API files not published yet). */
    plannedBytes: number;
    /** Bytes it stored before the store filled up. */
    storedBytes: number;
    /** Bottles it stored (kept for the next run). */
    stored: number;
    stateSaved: boolean;
    /** The run report's key, when it could be written. */
    reportKey: string | undefined;
  }) {
    const { full, runId, reportKey } = details;
    const needed = Math.max(details.plannedBytes - details.storedBytes, 0);
    const what = full.code === "EDQUOT" ? "disk quota exceeded" : "no space left";
    const records =
      details.stateSaved && reportKey
        ? `state saved, report: ${reportKey}`
        : details.stateSaved
          ? "state saved; the run report could not be written (no space left for it either)"
          : reportKey
            ? `report: ${reportKey}; the state could not be saved (no space left for it either)`
            : "neither the state nor the run report could be written (no space left for them either)";
    super(
      `sync ${runId} stopped: ${what} on ${full.location} (${full.code}); it needs ${formatBytes(needed)} more free space (${formatBytes(details.plannedBytes)} planned, ${formatBytes(details.storedBytes)} stored); ${records}`,
      {
        cause: full,
        fix: `free at least ${formatBytes(needed)} on ${full.location}${full.code === "EDQUOT" ? " (or raise the quota)" : ""}, or point --dest at a filesystem with room, then re-run: the ${details.stored} bottle(s) stored are kept and not downloaded again`,
      },
    );
    this.name = "RunOutOfSpaceError";
    this.runId = runId;
    this.location = full.location;
    this.neededBytes = needed;
  }
}

/** `hbsync verify` found missing or corrupted objects. */
export class VerifyFailedError extends MirrorError {
  constructor(problems: number, location: string, dest: string = location) {
    super(`verify found ${problems} problem(s) in ${location}`, {
      fix: `re-fetch them with \`hbsync verify --repair --dest ${dest}\` (give it the --config/--upstream-… flags your sync uses); \`hbsync sync --verify-existing\` re-hashes and repairs everything as part of a sync`,
    });
    this.name = "VerifyFailedError";
  }
}

/**
 * `--dest` holds no mirror: the folder does not exist, or nothing there records a sync
 * (`_sync/state.json`). A command that reads a mirror (verify) refuses rather than report 0 of 0.
 */
export class NoMirrorError extends MirrorError {
  readonly location: string;

  constructor(location: string, reason: string) {
    super(`no mirror at ${location}: ${reason}`, {
      fix: `check --dest (the folder or s3://bucket/prefix your sync writes to), or create the mirror first with \`hbsync sync --dest ${location}\``,
    });
    this.name = "NoMirrorError";
    this.location = location;
  }
}

/** `bottles_hash.json` could not be read at all. */
export class MigrationError extends MirrorError {
  constructor(message: string, options: HbsyncErrorOptions = {}) {
    super(message, options);
    this.name = "MigrationError";
  }
}
