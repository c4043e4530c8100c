import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { EXIT } from "../../../src/cli/exit-codes.ts";
import { memoryOutput } from "../../../src/cli/output.ts";

const CONFIG = (brewGit: boolean, layouts = "[flat]") => `project:
  name: client-env-test
environments:
  dev:
    aws_region: us-east-1
    schedule_expression: "rate(1 day)"
mirror:
  brew_git: ${brewGit}
  layouts: ${layouts}
`;

describe("hbsync client-env", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-client-env-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const hbsync = async (...args: string[]) => {
    const output = memoryOutput();
    const code = await run(["client-env", ...args], output, { cwd: dir, env: {} });
    return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
  };

  it("prints the flat layout by default, with brew's git as config.yaml's mirror.brew_git says", async () => {
    await writeFile(join(dir, "config.yaml"), CONFIG(true));

    const result = await hbsync("--base", "https://brew.example.com/");

    expect(result.code).toBe(EXIT.OK);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(
      /^export HOMEBREW_BOTTLE_DOMAIN=https:\/\/brew\.example\.com\/bottles +# /m,
    );
    expect(result.stdout).toMatch(
      /^export HOMEBREW_BREW_GIT_REMOTE=https:\/\/brew\.example\.com\/git\/brew\.git +# /m,
    );
    expect(result.stdout).not.toMatch(/^export HOMEBREW_ARTIFACT_DOMAIN/m);
  });

  it("--json: one document with what to set and what to unset; --no-brew-git overrides the config", async () => {
    await writeFile(join(dir, "config.yaml"), CONFIG(true));

    const result = await hbsync("--base", "https://brew.example.com", "--no-brew-git", "--json");

    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({ base: "https://brew.example.com", layout: "flat", brewGit: false });
    expect(document.set).toEqual({
      HOMEBREW_API_DOMAIN: "https://brew.example.com/api",
      HOMEBREW_BOTTLE_DOMAIN: "https://brew.example.com/bottles",
      HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN: "none",
      HOMEBREW_NO_AUTO_UPDATE: "1",
      HOMEBREW_NO_ANALYTICS: "1",
      HOMEBREW_NO_GITHUB_API: "1",
    });
    expect(document.unset).toEqual([
      "HOMEBREW_ARTIFACT_DOMAIN",
      "HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK",
      "HOMEBREW_DOCKER_REGISTRY_TOKEN",
      "HOMEBREW_NO_INSTALL_FROM_API",
    ]);
  });

  it("prints the OCI variant by default when mirror.layouts has oci", async () => {
    await writeFile(join(dir, "config.yaml"), CONFIG(false, "[flat, oci]"));

    const result = await hbsync("--base", "https://brew.example.com");

    expect(result.code).toBe(EXIT.OK);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^export HOMEBREW_ARTIFACT_DOMAIN=https:\/\/brew\.example\.com +# /m);
    expect(result.stdout).toMatch(/^export HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK=1 +# /m);
    expect(result.stdout).toMatch(/^unset HOMEBREW_BOTTLE_DOMAIN +# /m);
  });

  it("--layout oci against a config without it warns that the mirror does not publish that tree", async () => {
    await writeFile(join(dir, "config.yaml"), CONFIG(true));

    const result = await hbsync("--base", "https://brew.example.com", "--layout", "oci");

    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toMatch(/^export HOMEBREW_ARTIFACT_DOMAIN=https:\/\/brew\.example\.com +# /m);
    expect(result.stderr).toContain(
      "warning: config.yaml's mirror.layouts is [flat]: the mirror does not publish <base>/v2/homebrew/core/…",
    );
  });

  it.each([
    [["--base", "ftp://brew.example.com"], "error: --base must be an http(s) URL"],
    [
      ["--base", "https://brew.example.com", "--layout", "tar"],
      "error: option '--layout <layout>' argument 'tar' is invalid",
    ],
    [[], "error: required option '--base <url>' not specified"],
  ])("refuses %j with exit 2", async (args, message) => {
    const result = await hbsync(...args);

    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(message);
  });
});
