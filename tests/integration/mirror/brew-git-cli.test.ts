/**
 * `hbsync sync` with `mirror.brew_git: true`: the git phase runs after the bottles and the API, under
 * the run's lease, its outcome is in the run report and the summary, and its failure fails the run
 * (exit 1) without holding back the bottles and the API.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import type { RunReport } from "../../../src/mirror/report.ts";
import { startServe } from "../../../src/mirror/serve.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { createGitUpstream, type GitUpstream, git } from "../../helpers/git-upstream.ts";

const CONFIG = (upstream: string) => `project:
  name: brew-git-test
environments:
  dev:
    aws_region: us-east-1
    schedule_expression: "rate(1 day)"
mirror:
  tags: [x86_64_linux]
  brew_git: true
  upstream:
    brew_git: "file://${upstream}"
`;

describe("hbsync sync with mirror.brew_git (CLI, emulator and a local upstream repository)", () => {
  const emulator = withEmulator({ synthetic: { formulae: 4, tags: ["x86_64_linux"] } });
  let dir = "";
  let upstream: GitUpstream;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-brew-git-cli-"));
    upstream = await createGitUpstream();
    await upstream.commit("Initial commit", { "README.md": "Homebrew\n" });
    await writeFile(join(dir, "config.yaml"), CONFIG(upstream.url));
  });
  afterEach(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sync = async (...extra: string[]) => {
    const output = memoryOutput();
    const code = await run(
      [
        "sync",
        "--dest",
        join(dir, "mirror"),
        "--upstream-api",
        emulator().api,
        "--upstream-registry",
        emulator().registry,
        "--trusted-key",
        emulator().publicKeyPath,
        ...extra,
      ],
      output,
      { cwd: dir, env: { XDG_CACHE_HOME: join(dir, "cache") } },
    );
    return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
  };
  const report = async (stdout: string): Promise<RunReport> => {
    const runId = /hbsync sync (\S+) →/.exec(stdout)?.[1];
    return JSON.parse(await readFile(join(dir, "mirror/_sync/runs", `${runId}.json`), "utf8")) as RunReport;
  };

  it("publishes brew's git after the bottles and the API, says so, and serves it to git clone", async () => {
    const result = await sync();

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/brew git published: 1 new pack \(.+\), 1 refs, 1 packs listed/);
    const written = await report(result.stdout);
    expect(written).toMatchObject({
      status: "succeeded",
      git: { status: "published", head: "refs/heads/main" },
    });
    expect(written.counts.apiPublished).toBeGreaterThan(0);
    expect(written.durationsMs.brewGit).toBeGreaterThanOrEqual(0);
    const server = await startServe({ store: new FsStore(join(dir, "mirror")) });
    try {
      await git(dir, "clone", "--quiet", `${server.url}/git/brew.git`, "client");
      expect((await git(join(dir, "client"), "rev-parse", "HEAD")).trim()).toBe((await upstream.log())[0]);
    } finally {
      await server.close();
    }

    const again = await sync();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("brew git unchanged: no new pack, 1 refs, 1 packs listed");
  });

  it("fails the run with exit 1 when brew's git cannot be fetched, after publishing the bottles and the API", async () => {
    const result = await sync("--upstream-brew-git", join(dir, "no-such-repository.git"));

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: brew's git was not updated: git ls-remote --symref");
    expect(result.stderr).toContain(
      "error: the sync failed in its brew git phase only: the bottles and the API were published",
    );
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const written = await report(result.stdout);
    expect(written.status).toBe("failed");
    expect(written.git?.status).toBe("failed");
    expect(written.counts.apiPublished).toBeGreaterThan(0);
    await expect(readFile(join(dir, "mirror/api/formula.jws.json"))).resolves.toBeDefined();
    await expect(readFile(join(dir, "mirror/_sync/lock"))).rejects.toThrow(); // the lease was released
  });
});
