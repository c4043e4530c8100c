/**
 * A small runner over the real `terraform` binary: spawn (no shell), stream stdout/stderr lines to a
 * callback, kill on timeout, and turn failures into catalogue errors: ENOENT → HBS-INF-001, backend
 * errors → HBS-INF-002, a held lock → HBS-INF-003, timeout → HBS-INF-004, otherwise the code the caller
 * gives for that subcommand (plan → HBS-DEP-002, apply → HBS-DEP-001, …).
 *
 * Every run gets TF_IN_AUTOMATION=1 (terraform stops suggesting next commands) and `-input=false` /
 * `-no-color` where the subcommand accepts them.
 */
import { spawn } from "node:child_process";
import {
  type ErrorCode,
  PipelineError,
  TerraformCommandError,
  TerraformNotFoundError,
  TimeoutError,
} from "./errors.ts";

export type StreamName = "stdout" | "stderr";
export type LineListener = (line: string, stream: StreamName) => void;

export const MIN_TERRAFORM_VERSION = "1.6.0";
const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;
/** After SIGTERM (terraform stops gracefully, releasing its lock), SIGKILL if it has not exited. */
const KILL_GRACE_MS = 10_000;
const CAPTURE_LIMIT = 64 * 1024 * 1024;

/** Subcommands that take `-input=false`. */
const TAKES_INPUT = new Set(["init", "plan", "apply", "destroy", "import", "refresh"]);
/** Subcommands that take `-no-color`. */
const TAKES_NO_COLOR = new Set(["init", "plan", "apply", "destroy", "validate", "output", "show", "refresh"]);

export interface TerraformRunnerOptions {
  /** The program to run (default `terraform`, looked up on PATH). */
  binary?: string;
  /** The environment terraform runs with (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Per-command timeout (default 30 min). */
  timeoutMs?: number;
  /** Receives every output line of streamed commands. */
  onLine?: LineListener;
}

export interface RunOptions {
  cwd: string;
  /** Stream lines to the listener (default true). `show -json`/`output -json` are captured only. */
  stream?: boolean;
  timeoutMs?: number;
  /** The catalogue code for a non-zero exit that is not a backend or lock problem. */
  failureCode?: ErrorCode;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

export interface TerraformResult {
  args: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Terraform's own wording for a backend it cannot reach or read (S3, and generic state errors). */
const BACKEND_PATTERNS = [
  /Failed to get existing workspaces/i,
  /Error (?:refreshing|loading|reading) state/i,
  /Failed to (?:load|save|persist|read) state/i,
  /Error (?:configuring|initializing) (?:the )?(?:S3 )?backend/i,
  /Error inspecting states in the "\w+" backend/i,
  /error (?:getting|reading) S3 (?:Bucket|object)/i,
  /NoSuchBucket/,
  /No valid credential sources found/i,
  /(?:dial tcp|no such host|connection refused|i\/o timeout|TLS handshake timeout)/i,
];
const BACKEND_CONFIG_PATTERNS = [
  /Missing (?:region|bucket|key) value/i,
  /Invalid backend configuration argument/i,
  /Backend initialization required/i,
  /Backend configuration changed/i,
];
const LOCK_PATTERN = /Error acquiring the state lock/i;
const INIT_PROVIDER_PATTERNS = [
  /Failed to (?:query|install) (?:available )?provider/i,
  /Failed to install provider/i,
];

/** Which catalogue code a failed command's stderr points at, if it is a backend or lock problem. */
export function classifyTerraformFailure(stderr: string, fallback: ErrorCode): ErrorCode {
  if (LOCK_PATTERN.test(stderr)) return "HBS-INF-003";
  if (BACKEND_CONFIG_PATTERNS.some((pattern) => pattern.test(stderr))) return "HBS-CFG-005";
  if (BACKEND_PATTERNS.some((pattern) => pattern.test(stderr))) return "HBS-INF-002";
  if (INIT_PROVIDER_PATTERNS.some((pattern) => pattern.test(stderr))) return "HBS-INF-005";
  return fallback;
}

export class TerraformRunner {
  readonly binary: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;
  private readonly onLine: LineListener | undefined;

  constructor(options: TerraformRunnerOptions = {}) {
    this.binary = options.binary ?? "terraform";
    this.env = options.env ?? process.env;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.onLine = options.onLine;
  }

  /** `terraform <subcommand> [-input=false] [-no-color] …rest`. */
  async run(subcommand: string, rest: string[], options: RunOptions): Promise<TerraformResult> {
    const args = [
      subcommand,
      ...(TAKES_INPUT.has(subcommand) ? ["-input=false"] : []),
      ...(TAKES_NO_COLOR.has(subcommand) ? ["-no-color"] : []),
      ...rest,
    ];
    const result = await this.spawn(args, options);
    if (result.exitCode !== 0 && !options.allowFailure) {
      const code = classifyTerraformFailure(result.stderr, options.failureCode ?? "HBS-INF-006");
      throw new TerraformCommandError(code, `terraform ${subcommand}`, result.exitCode, result.stderr);
    }
    return result;
  }

  /** The installed version; throws HBS-INF-001 when terraform is missing or older than 1.6. */
  async version(cwd: string): Promise<string> {
    const result = await this.run("version", ["-json"], { cwd, stream: false });
    let version: string | undefined;
    try {
      version = (JSON.parse(result.stdout) as { terraform_version?: string }).terraform_version;
    } catch {
      version = /Terraform v(\d+\.\d+\.\d+)/.exec(result.stdout)?.[1];
    }
    if (!version)
      throw new TerraformNotFoundError(this.binary, `\`${this.binary} version\` printed no version`);
    if (compareVersions(version, MIN_TERRAFORM_VERSION) < 0) {
      throw new TerraformNotFoundError(
        this.binary,
        `terraform ${version} is too old: hbsync needs ≥ ${MIN_TERRAFORM_VERSION}; install a newer one`,
      );
    }
    return version;
  }

  private spawn(args: string[], options: RunOptions): Promise<TerraformResult> {
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const stream = options.stream ?? true;
    const command = `${this.binary} ${args[0] ?? ""}`.trim();
    return new Promise((resolvePromise, reject) => {
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(this.binary, args, {
          cwd: options.cwd,
          env: { ...this.env, TF_IN_AUTOMATION: "1" },
          stdio: ["ignore", "pipe", "pipe"],
        });
      } catch (error) {
        reject(spawnError(this.binary, error));
        return;
      }
      const captured: Record<StreamName, string[]> = { stdout: [], stderr: [] };
      const sizes: Record<StreamName, number> = { stdout: 0, stderr: 0 };
      const partial: Record<StreamName, string> = { stdout: "", stderr: "" };
      const emit = (name: StreamName, line: string): void => {
        if (stream && this.onLine) this.onLine(line, name);
      };
      const onData = (name: StreamName) => (chunk: Buffer) => {
        const text = chunk.toString("utf8");
        if (sizes[name] < CAPTURE_LIMIT) {
          captured[name].push(text);
          sizes[name] += text.length;
        }
        const lines = (partial[name] + text).split(/\r?\n/);
        partial[name] = lines.pop() ?? "";
        for (const line of lines) emit(name, line);
      };
      child.stdout?.on("data", onData("stdout"));
      child.stderr?.on("data", onData("stderr"));

      let timedOut = false;
      let killTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGTERM");
        killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
        killTimer.unref();
      }, timeoutMs);
      timer.unref();

      let settled = false;
      child.on("error", (error) => {
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        if (settled) return;
        settled = true;
        reject(spawnError(this.binary, error));
      });
      child.on("close", (exitCode) => {
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        if (settled) return;
        settled = true;
        for (const name of ["stdout", "stderr"] as const) {
          if (partial[name]) emit(name, partial[name]);
        }
        if (timedOut) {
          reject(new TimeoutError(command, timeoutMs));
          return;
        }
        resolvePromise({
          args,
          exitCode,
          stdout: captured.stdout.join(""),
          stderr: captured.stderr.join(""),
          durationMs: Date.now() - started,
        });
      });
    });
  }
}

function spawnError(binary: string, error: unknown): PipelineError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOENT" || code === "EACCES") return new TerraformNotFoundError(binary, undefined, error);
  return new PipelineError("HBS-INF-006", `could not start ${binary}: ${String(error)}`, { cause: error });
}

/** Compares dotted numeric versions (`1.11.4` vs `1.6.0`); a pre-release suffix is ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string): number[] =>
    version
      .replace(/^v/, "")
      .split("-")[0]
      ?.split(".")
      .map((part) => Number.parseInt(part, 10) || 0) ?? [];
  const left = parts(a);
  const right = parts(b);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}
