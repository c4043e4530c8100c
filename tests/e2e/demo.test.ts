import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");
const execFileAsync = promisify(execFile);

// The README's main job as a user runs it: scripts/demo.sh end to end (emulator, sync, verify, serve,
// curl), on a small synthetic upstream. Its lines must say what happened.
describe("scripts/demo.sh", () => {
  let workdir = "";
  let output = "";

  beforeAll(async () => {
    workdir = await mkdtemp(join(tmpdir(), "hbsync-demo-test-"));
    const { stdout, stderr } = await execFileAsync(
      "bash",
      [join(REPO, "scripts/demo.sh"), "--dest", join(workdir, "mirror"), "--synthetic", "3"],
      { cwd: REPO, env: { ...process.env }, maxBuffer: 16 * 1024 * 1024 },
    );
    output = `${stdout}\n${stderr}`;
  }, 180_000);
  afterAll(async () => {
    await rm(workdir, { recursive: true, force: true });
  });

  it("says what verify counted: bottles + manifests + API files", () => {
    const verified =
      /^verified (\d+) of (\d+) objects in \S+ \((\d+) bottles, (\d+) manifests, (\d+) API files\)$/m.exec(
        output,
      );
    expect(verified, output).not.toBeNull();
    const [, checked, total, bottles, manifests, api] = (verified as RegExpExecArray).map(Number);
    expect(checked).toBe(total);
    expect((bottles as number) + (manifests as number) + (api as number)).toBe(total);
  });

  it("says how many API files it published and how many were unchanged", () => {
    expect(output).toMatch(/^publish: \d+ of (\d+) API files changed \(\d+ unchanged\)$/m);
    expect(output).toMatch(/^succeeded: .*; API (\d+) published, 0 unchanged$/m);
  });

  it("prints the status page's URL, after fetching it", () => {
    const base = /^ {4}GET (http:\/\/127\.0\.0\.1:\d+)\/bottles\//m.exec(output)?.[1];
    expect(base, output).toBeDefined();
    expect(output).toContain(`    status page ${base}/ (and ${base}/status.json for monitoring)`);
    expect(output).toContain(`==> 7. point brew at the mirror (status page: ${base}/):`);
  });
});
