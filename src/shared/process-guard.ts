import { UnexpectedError } from "./errors.ts";

/**
 * The last line of defence for errors raised outside any await chain: an 'error' event nobody listens
 * to, a throw inside a timer or a callback, a promise rejected with nobody awaiting it. Without it Node
 * prints a stack trace and ends the process on the spot, leaving the lease held and the run
 * unrecorded. With it, the error becomes an UnexpectedError handed to every running job (each aborts
 * its run, which then ends as failed: state checkpointed, report written, lease released), and to the
 * entry point's `report`, which says so in one line. The entry points install it: the CLI
 * (src/cli/main.ts), the Lambda worker and the ECS task.
 */
export interface ProcessGuardOptions {
  /**
   * Told about each caught error; `handled` is true when a running job took it (its run will end as
   * failed), false when none was running (the entry point should end the process).
   */
  report: (error: UnexpectedError, handled: boolean) => void;
  /** The process to watch (tests pass an EventEmitter). */
  process?: Pick<NodeJS.Process, "on" | "off">;
}

type FatalListener = (error: UnexpectedError) => void;

const listeners = new Set<FatalListener>();
let installed: { uninstall(): void } | undefined;

/** Installs the guard once per process (a second call replaces the first); returns its uninstall. */
export function installProcessGuard(options: ProcessGuardOptions): () => void {
  installed?.uninstall();
  const target = options.process ?? process;
  const onError = (cause: unknown): void => {
    const error = cause instanceof UnexpectedError ? cause : new UnexpectedError(cause);
    const running = [...listeners];
    for (const listener of running) {
      try {
        listener(error);
      } catch {
        // A listener that fails must not stop the others from aborting their runs.
      }
    }
    options.report(error, running.length > 0);
  };
  target.on("uncaughtException", onError);
  target.on("unhandledRejection", onError);
  const uninstall = (): void => {
    target.off("uncaughtException", onError);
    target.off("unhandledRejection", onError);
    if (installed === handle) installed = undefined;
  };
  const handle = { uninstall };
  installed = handle;
  return uninstall;
}

/**
 * Runs `listener` if an unexpected error is caught while the job runs (typically: abort the job's
 * AbortController with it). Returns the unsubscribe; call it when the job ends.
 */
export function onUnexpectedError(listener: FatalListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
