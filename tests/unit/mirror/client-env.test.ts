import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  type ClientEnvOptions,
  clientEnv,
  normaliseBase,
  renderShell,
} from "../../../src/mirror/client-env.ts";

const execFileAsync = promisify(execFile);

/**
 * Evaluates the printed lines in a real POSIX shell that starts with every variable brew would trip
 * over already set, and returns the HOMEBREW_* environment that results.
 */
async function evaluate(options: ClientEnvOptions): Promise<Record<string, string>> {
  const polluted = {
    HOMEBREW_ARTIFACT_DOMAIN: "https://stale.example",
    HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK: "1",
    HOMEBREW_BOTTLE_DOMAIN: "https://stale.example/bottles",
    HOMEBREW_DOCKER_REGISTRY_TOKEN: "secret",
    HOMEBREW_NO_INSTALL_FROM_API: "1",
    HOMEBREW_NO_AUTO_UPDATE: "1",
  };
  const script = `${renderShell(clientEnv(options)).join("\n")}\nenv`;
  const { stdout } = await execFileAsync("sh", ["-c", script], {
    env: { PATH: process.env.PATH, ...polluted },
  });
  return Object.fromEntries(
    stdout
      .split("\n")
      .filter((line) => line.startsWith("HOMEBREW_"))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

describe("mirror/client-env", () => {
  describe("clientEnv + renderShell, evaluated by sh", () => {
    it("flat: the API and bottle domains, no artifact domain, no auth header, no auto-update without brew's git", async () => {
      expect(
        await evaluate({ base: "https://mirror.example.com/brew/", layout: "flat", brewGit: false }),
      ).toEqual({
        HOMEBREW_API_DOMAIN: "https://mirror.example.com/brew/api",
        HOMEBREW_BOTTLE_DOMAIN: "https://mirror.example.com/brew/bottles",
        HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN: "none",
        HOMEBREW_NO_AUTO_UPDATE: "1",
        HOMEBREW_NO_ANALYTICS: "1",
        HOMEBREW_NO_GITHUB_API: "1",
      });
    });

    it("oci: the artifact domain at the base with no fallback, no bottle domain, brew's git as the remote", async () => {
      expect(await evaluate({ base: "http://127.0.0.1:8080", layout: "oci", brewGit: true })).toEqual({
        HOMEBREW_API_DOMAIN: "http://127.0.0.1:8080/api",
        HOMEBREW_ARTIFACT_DOMAIN: "http://127.0.0.1:8080",
        HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK: "1",
        HOMEBREW_BREW_GIT_REMOTE: "http://127.0.0.1:8080/git/brew.git",
        HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN: "none",
        HOMEBREW_NO_ANALYTICS: "1",
        HOMEBREW_NO_GITHUB_API: "1",
      });
    });

    it("quotes what the shell would otherwise expand", async () => {
      const env = await evaluate({
        base: "https://mirror.example.com/it's/$HOME",
        layout: "flat",
        brewGit: true,
      });
      expect(env.HOMEBREW_API_DOMAIN).toBe("https://mirror.example.com/it's/$HOME/api");
      expect(env.HOMEBREW_BREW_GIT_REMOTE).toBe("https://mirror.example.com/it's/$HOME/git/brew.git");
    });

    it("gives every line a comment, and says what an offline client still cannot do", () => {
      const env = clientEnv({ base: "https://m.example.com", layout: "flat", brewGit: false });
      const lines = renderShell(env);
      for (const line of lines.filter((line) => !line.startsWith("#")))
        expect(line).toMatch(/^(export|unset) \S+ +# \S/);
      expect(lines.join("\n")).toContain("# note: Portable Ruby is mirrored only with mirror.brew_git");
      expect(
        clientEnv({ base: "https://m.example.com", layout: "oci", brewGit: true }).notes.join("\n"),
      ).toContain("Portable Ruby comes from the mirror too");
      expect(env.notes.some((note) => note.includes("mirror.brew_git"))).toBe(true);
      expect(clientEnv({ base: "https://m.example.com", layout: "flat", brewGit: true }).notes).toHaveLength(
        3,
      );
    });
  });

  describe("normaliseBase", () => {
    it("drops a trailing slash and keeps a path prefix", () => {
      expect(normaliseBase("https://m.example.com/")).toBe("https://m.example.com");
      expect(normaliseBase("https://m.example.com/org/brew//")).toBe("https://m.example.com/org/brew");
    });

    it.each([
      ["not a url", "is not a URL"],
      ["ftp://m.example.com", "must be an http(s) URL"],
      ["https://m.example.com/?x=1", "must have no query or fragment"],
      ["https://user:pw@m.example.com", "must not carry credentials"],
      ["https://m.example.com/bottles", "names one of the mirror's trees (/bottles), not its base"],
      ["https://m.example.com/v2/", "names one of the mirror's trees (/v2), not its base"],
    ])("refuses %s: %s", (base, message) => {
      expect(() => normaliseBase(base)).toThrow(message);
    });
  });
});
