import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { EXIT } from "../../../src/cli/exit-codes.ts";
import { memoryOutput } from "../../../src/cli/output.ts";

/**
 * `--tags` goes through the known-tag check `config validate` applies to mirror.tags: a typo is a usage
 * error (exit 2) with the same did-you-mean, before anything is fetched or written (the upstream flags
 * below point at a closed port: reaching it would be a different error).
 */
describe("cli --tags", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-tags-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const hbsync = async (...args: string[]) => {
    const output = memoryOutput();
    const code = await run(args, output, { cwd: dir, env: {} });
    return { code, stderr: output.stderr.join("\n"), stdout: output.stdout.join("\n") };
  };
  const nowhere = [
    "--upstream-api",
    "http://127.0.0.1:9/api",
    "--upstream-registry",
    "http://127.0.0.1:9/v2",
  ];

  it.each([["sync"], ["plan"], ["verify"]])(
    "%s --tags arm64_sequia exits 2 with did-you-mean",
    async (command) => {
      const result = await hbsync(
        command,
        "--dest",
        join(dir, "m"),
        "--tags",
        "arm64_sequia,x86_64_linux",
        ...nowhere,
      );

      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toBe(
        [
          "error: --tags: unknown bottle tag `arm64_sequia` — did you mean `arm64_sequoia`?",
          "fix: write --tags arm64_sequoia,x86_64_linux",
        ].join("\n"),
      );
    },
  );

  it("lists the known tags when an unknown one resembles none", async () => {
    const result = await hbsync("sync", "--dest", join(dir, "m"), "--tags", "bogus_tag", ...nowhere);

    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(
      "error: --tags: unknown bottle tag `bogus_tag`\nfix: use tags from: arm64_tahoe,",
    );
  });

  it("says the same as config validate does for mirror.tags", async () => {
    const config = join(dir, "elsewhere.yaml");
    await writeFile(config, "mirror:\n  tags: [arm64_sequia]\n");

    const result = await hbsync("config", "validate", "--config", config);

    expect(`${result.stdout}\n${result.stderr}`).toContain(
      "elsewhere.yaml:2:10: error: unknown bottle tag `arm64_sequia` — did you mean `arm64_sequoia`? — fix: write `arm64_sequoia`",
    );
  });

  it("refuses an empty list", async () => {
    const result = await hbsync("plan", "--dest", join(dir, "m"), "--tags", " , ", ...nowhere);

    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain("--tags names no bottle tag");
  });
});
