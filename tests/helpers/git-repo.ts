import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A real git repository in a temp dir (the caller removes `dir`), with a fixed author. */
export interface TempGitRepo {
  dir: string;
  git(...args: string[]): string;
  /** Writes the files (paths relative to the repository), commits everything, returns the commit id. */
  commit(files: Record<string, string>, message: string): Promise<string>;
}

export async function tempGitRepo(dir?: string): Promise<TempGitRepo> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), "hbsync-git-")));
  await mkdir(root, { recursive: true });
  const git = (...args: string[]): string =>
    execFileSync("git", args, {
      cwd: root,
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@example.com",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@example.com",
      },
    }).trim();
  git("init", "-q", "-b", "main");
  return {
    dir: root,
    git,
    async commit(files, message) {
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(root, path)), { recursive: true });
        await writeFile(join(root, path), text);
      }
      git("add", "-A");
      git("commit", "-q", "-m", message);
      return git("rev-parse", "HEAD");
    },
  };
}
