import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";

/**
 * The process that holds a lease, as recorded in `_sync/lock` by a run on a machine (the CLI), so a
 * later run on the same machine can tell the holder is gone and take over at once instead of waiting
 * out the lease. Linux identifies a process by pid AND start time (`/proc/<pid>/stat` field 22, clock
 * ticks since boot), so a recycled pid is not mistaken for the holder, and a pid only means something
 * inside its pid namespace on the same boot (`pidSpace`: boot id + pid namespace), so two containers
 * (or two machines) that share a hostname never judge each other's processes.
 */
export interface LeaseProcess {
  host: string;
  pid: number;
  /** Linux: the process's start time in clock ticks since boot. */
  startTime?: string;
  /** Linux: `<boot id>/<pid namespace>`: where `pid` means this process. */
  pidSpace?: string;
}

export type HolderState =
  | { state: "live"; reason: string }
  | { state: "expired"; reason: string }
  | { state: "gone"; reason: string };

/** This process, as a lease records it. */
export function currentProcess(): LeaseProcess {
  const startTime = processStartTime(process.pid);
  const pidSpace = currentPidSpace();
  return {
    host: hostname(),
    pid: process.pid,
    ...(startTime === undefined ? {} : { startTime }),
    ...(pidSpace === undefined ? {} : { pidSpace }),
  };
}

/**
 * Whether a lease still binds: `expired` past its expiry; `gone` when it names a process of this
 * machine (same host and pid space) that no longer runs; else `live`. A lease without a process (Lambda,
 * ECS) or from another machine is live until it expires.
 */
export function holderState(
  holder: { expiresAt: string; process?: LeaseProcess },
  now: Date,
  here: LeaseProcess = currentProcess(),
): HolderState {
  const expiry = Date.parse(holder.expiresAt);
  if (!Number.isFinite(expiry) || expiry <= now.getTime()) {
    return { state: "expired", reason: `it expired at ${holder.expiresAt}` };
  }
  const held = holder.process;
  if (held === undefined || held.host !== here.host || held.pidSpace !== here.pidSpace) {
    return { state: "live", reason: `it is held until ${holder.expiresAt}` };
  }
  const where = `process ${held.pid} on ${held.host}`;
  if (held.pidSpace !== undefined) {
    // Linux: /proc tells whether the pid runs, and since when.
    const startTime = processStartTime(held.pid);
    if (startTime === undefined) return { state: "gone", reason: `${where} is gone` };
    if (startTime === "zombie") return { state: "gone", reason: `${where} has exited` };
    if (held.startTime !== undefined && startTime !== held.startTime) {
      return { state: "gone", reason: `${where} is gone (pid ${held.pid} now belongs to another process)` };
    }
    return { state: "live", reason: `${where} is running` };
  }
  // Elsewhere (macOS): signal 0 tells whether the pid exists; a recycled pid looks alive.
  try {
    process.kill(held.pid, 0);
    return { state: "live", reason: `${where} is running` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH")
      return { state: "gone", reason: `${where} is gone` };
    return { state: "live", reason: `${where} is running` };
  }
}

/**
 * Field 22 of /proc/<pid>/stat (start time, clock ticks since boot); undefined when no such process,
 * `zombie` when it has exited and waits for its parent to reap it.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // `pid (comm) state ppid …`: comm may hold spaces and parentheses; fields resume after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return "zombie";
  return fields[22 - 3];
}

function currentPidSpace(): string | undefined {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    return `${boot}/${readlinkSync("/proc/self/ns/pid")}`;
  } catch {
    return undefined;
  }
}
