import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { urlEncodeSegment } from "../../../src/homebrew/naming.ts";
import { withEmulator } from "../../helpers/emulator.ts";

const REPO = resolve(import.meta.dirname, "../../..");

/** `hbsync serve` mounts the status page beside the mirror: proves the CLI wiring, not the page itself. */
describe("hbsync serve (status page mounted)", () => {
  const emulator = withEmulator({
    synthetic: { formulae: 6, tags: ["arm64_sequoia"], sizes: { min: 1_000, max: 5_000 } },
  });
  let workdir = "";
  let child: ChildProcess | undefined;
  let base = "";

  beforeAll(async () => {
    workdir = await mkdtemp(join(tmpdir(), "hbsync-serve-status-"));
    const synced = await run(
      [
        "sync",
        "--dest",
        join(workdir, "mirror"),
        "--upstream-api",
        emulator().api,
        "--upstream-registry",
        emulator().registry,
        "--trusted-key",
        emulator().publicKeyPath,
        "--tags",
        "arm64_sequoia",
      ],
      memoryOutput(),
      { cwd: workdir, env: {} },
    );
    expect(synced).toBe(0);
    child = spawn(
      process.execPath,
      [join(REPO, "bin/hbsync.js"), "serve", "--dest", "mirror", "--json", "--quiet"],
      {
        cwd: workdir,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    base = await new Promise<string>((resolveUrl, reject) => {
      child?.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        try {
          resolveUrl((JSON.parse(stdout) as { url: string }).url);
        } catch {
          // not a whole document yet
        }
      });
      child?.on("exit", (code) => reject(new Error(`hbsync serve exited with ${code}`)));
    });
  });

  afterAll(async () => {
    child?.kill("SIGTERM");
    await rm(workdir, { recursive: true, force: true });
  });

  it("answers / with the status page and /status.json with the bottle counts of _sync/state.json", async () => {
    const state = JSON.parse(await readFile(join(workdir, "mirror/_sync/state.json"), "utf8")) as {
      entries: Record<string, { size: number }>;
    };
    const bottles = Object.keys(state.entries).length;
    expect(bottles).toBeGreaterThan(0);

    const page = await fetch(`${base}/`);
    const status = (await (await fetch(`${base}/status.json`)).json()) as { mirror: { bottles: number } };

    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("<html");
    expect(status.mirror.bottles).toBe(bottles);
  });

  it("still serves bottles at the URL brew computes", async () => {
    const state = JSON.parse(await readFile(join(workdir, "mirror/_sync/state.json"), "utf8")) as {
      entries: Record<string, { size: number }>;
    };
    const [key, entry] = Object.entries(state.entries)[0] ?? [];
    if (!key || !entry) throw new Error("empty state");
    const filename = key.slice("bottles/".length);

    const response = await fetch(`${base}/bottles/${urlEncodeSegment(filename)}`);

    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(entry.size);
  });
});
