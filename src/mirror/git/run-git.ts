import { spawn } from "node:child_process";
import { MirrorError } from "../errors.ts";

/**
 * Runs the real `git` binary (mirror.brew_git needs it: the ECS task image and the CLI host have it;
 * the Lambda runtime does not — see docs/brew-git.md). No shell: arguments go to git as they are.
 */
export class GitError extends MirrorError {
  /** `git fetch …` as run (for messages). */
  readonly command: string;
  readonly exitCode: number | null;
  /** The last lines git wrote to stderr. */
  readonly stderr: string;

  constructor(
    message: string,
    context: { command: string; exitCode?: number | null; stderr?: string; cause?: unknown; fix?: string },
  ) {
    super(message, { cause: context.cause, fix: context.fix });
    this.name = "GitError";
    this.command = context.command;
    this.exitCode = context.exitCode ?? null;
    this.stderr = context.stderr ?? "";
  }
}

export interface RunGitOptions {
  /** The repository (`git -C <dir>`); absent for commands that take none (`ls-remote`, `init`). */
  gitDir?: string;
  /** Written to git's stdin, then closed. */
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Extra environment (merged over the process environment and the fixed settings below). */
  env?: NodeJS.ProcessEnv;
}

/** Enough stderr to explain a failure; git can be chatty. */
const STDERR_TAIL_BYTES = 4096;

/**
 * `git [-C dir] <args>` → its stdout. A non-zero exit, a signal or a missing binary is a GitError that
 * names the command and quotes git's last stderr lines. Never prompts (GIT_TERMINAL_PROMPT=0), runs no
 * hooks, and gives up on a transfer that stalls below 1 KB/s for a minute (a reset or stalled upstream
 * is then an ordinary, retryable failure, not a hang).
 */
export function runGit(args: readonly string[], options: RunGitOptions = {}): Promise<string> {
  const fullArgs = [
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "http.lowSpeedLimit=1000",
    "-c",
    "http.lowSpeedTime=60",
    ...(options.gitDir ? ["--git-dir", options.gitDir] : []),
    ...args,
  ];
  const command = `git ${args.join(" ")}`;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new GitError(`${command} was not started: the run was cancelled`, { command }));
      return;
    }
    const child = spawn("git", fullArgs, {
      env: {
        ...process.env,
        GIT_TERMINAL_PROMPT: "0",
        GIT_ASKPASS: "",
        SSH_ASKPASS: "",
        LC_ALL: "C",
        ...options.env,
      },
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const stdout: Buffer[] = [];
    let stderr = Buffer.alloc(0);
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > STDERR_TAIL_BYTES * 2) stderr = stderr.subarray(stderr.length - STDERR_TAIL_BYTES);
    });
    // git may exit before reading all of stdin (an early error): that EPIPE is not the failure to report.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") {
        reject(
          new GitError("git is not installed (mirror.brew_git runs the git binary)", {
            command,
            cause: error,
            fix: "install git on this host (Debian: apt-get install git), or set mirror.brew_git: false",
          }),
        );
      } else if (error.name === "AbortError") {
        reject(new GitError(`${command} was stopped: the run was cancelled`, { command, cause: error }));
      } else {
        reject(new GitError(`${command} could not run: ${error.message}`, { command, cause: error }));
      }
    });
    child.once("close", (code, signal) => {
      if (code === 0) {
        resolve(Buffer.concat(stdout).toString("utf8"));
        return;
      }
      if (options.signal?.aborted) return; // the 'error' handler reported it
      const tail = lastLines(stderr.toString("utf8"));
      reject(
        new GitError(
          `${command} failed (${signal ? `signal ${signal}` : `exit ${code}`})${tail ? `: ${tail}` : ""}`,
          {
            command,
            exitCode: code,
            stderr: tail,
          },
        ),
      );
    });
  });
}

/** git's `fatal:`/`error:` lines (else its last lines), joined into one line for reports. */
function lastLines(text: string, count = 3): string {
  const lines = text
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter(Boolean);
  const errors = lines.filter((line) => /^(fatal|error):/.test(line));
  return (errors.length > 0 ? errors : lines).slice(-count).join(" / ").slice(-600);
}
