/** What a running sync tells its caller (the CLI draws a bar on a TTY, plain lines otherwise). */
export type SyncProgress =
  | { type: "phase"; phase: string; detail?: string }
  | {
      type: "bytes";
      /** Bytes received so far by this run's downloads. */
      bytes: number;
      /** Bytes the plan expects (sizes from the manifests; unknown sizes not included). */
      totalBytes: number;
      done: number;
      total: number;
    }
  | {
      type: "file";
      key: string;
      outcome: "transferred" | "adopted" | "failed";
      size?: number;
      error?: string;
    }
  | { type: "retry"; key: string; attempt: number; delayMs: number; error: string };

export type ProgressListener = (event: SyncProgress) => void;
