/**
 * A 64 MiB floor under V8's old-generation limit while the live heap is small: what the ECS image gets
 * from `node --initial-old-space-size=64` (docker/Dockerfile), for processes that cannot choose their
 * node flags — the CLI, which `node bin/hbsync.js` starts (NODE_OPTIONS refuses that flag, and setting it
 * at run time does nothing once the heap exists).
 *
 * Why (bench/README.md, "The ECS task's node flags"): every socket read allocates a new buffer, V8
 * scavenges after each ~64 MB of them ("external memory pressure"), and the buffers in flight at that
 * moment are promoted. With a live heap of ~17 MB (a mirror of a few hundred formulae) V8 grows the old
 * generation's limit by a small factor over what survived, so those promotions reach it within
 * ~100 MB moved, and a sync of 2 GiB made 28–68 full mark-compacts: ~20 % of its CPU.
 *
 * How: V8 reads `--heap-growing-percent` each time it recomputes the limit after a full GC (a value
 * above 0 replaces its own growing factor; 0 gives the factor back to V8). After every full GC this
 * sets the factor that puts the limit at FLOOR_BYTES over what is live, as long as less than half
 * of FLOOR_BYTES is live; above that it hands the factor back to V8. So a large heap (the full Homebrew
 * index) is sized exactly as without this, and a small one may hold at most FLOOR_BYTES before a full GC.
 * The flag is process-wide, so a worker thread's heap grows by the main thread's factor too (hbsync's
 * one worker, src/storage/fs-sizes.ts, holds a list of keys for a moment).
 */
import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics, setFlagsFromString } from "node:v8";

/** The limit this keeps under a small heap: the ECS image's `--initial-old-space-size=64`. */
export const FLOOR_BYTES = 64 * 1024 * 1024;
/** V8's own largest growing factor (4 ×): what the floor may ask for at most. */
const MAX_PERCENT = 300;

/**
 * The `--heap-growing-percent` for `liveBytes` surviving a full GC: the factor from it up to the floor
 * (at most 4 ×), or 0 (V8's own factor) once half the floor or more is live.
 */
export function growingPercent(liveBytes: number, floorBytes = FLOOR_BYTES): number {
  if (!(liveBytes > 0)) return MAX_PERCENT;
  if (liveBytes * 2 >= floorBytes) return 0;
  return Math.min(MAX_PERCENT, Math.ceil((floorBytes / liveBytes - 1) * 100));
}

export interface HeapFloor {
  /** The percent set last (0: V8's own factor). */
  readonly percent: number;
  /** Full GCs seen since install. */
  readonly fullGcs: number;
  stop(): void;
}

/**
 * Sets the floor now (for the limit V8 computes after the first full GC) and after every full GC. Does
 * nothing, and returns null, when the process was started with a flag that sizes the old generation
 * itself (the ECS image's `--initial-old-space-size`, or a user's `--heap-growing-percent`).
 */
export function installHeapFloor(
  execArgv: readonly string[] = process.execArgv,
  floorBytes = FLOOR_BYTES,
): HeapFloor | null {
  const ownFlag = /^--(initial-old-space-size|heap-growing-percent|initial-heap-size)(=|$)/;
  if (execArgv.some((arg) => ownFlag.test(arg.replaceAll("_", "-")))) return null;
  let percent = -1;
  let fullGcs = 0;
  const apply = (): void => {
    const next = growingPercent(getHeapStatistics().used_heap_size, floorBytes);
    if (next === percent) return;
    setFlagsFromString(`--heap-growing-percent=${next}`);
    percent = next;
  };
  apply();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // Node's gc entries carry { kind, flags } in `detail` (PerformanceEntry's type does not declare it).
      const detail = (entry as { detail?: { kind?: number } | null }).detail;
      if (detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      fullGcs++;
      apply();
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return {
    get percent() {
      return percent;
    },
    get fullGcs() {
      return fullGcs;
    },
    stop: () => {
      observer.disconnect();
      if (percent !== 0) setFlagsFromString("--heap-growing-percent=0");
      percent = 0;
    },
  };
}
