import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/cli.ts";
import { EXIT } from "../../src/cli/exit-codes.ts";
import { memoryOutput } from "../../src/cli/output.ts";
import { buildFixtureTree } from "./fixture-tree.ts";

describe("scan command", () => {
  let root: string;

  beforeAll(async () => {
    ({ root } = await buildFixtureTree());
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe("hbsync scan", () => {
    it("exits 1 on findings at or above the default threshold and prints file:line:col, rule and fix", async () => {
      const output = memoryOutput();
      const code = await run(["scan", "workflows", "--path", root], output, { cwd: root });
      expect(code).toBe(EXIT.FAILED);
      expect(output.stdout).toContain(
        ".github/workflows/bad.yml:22:15  MEDIUM  HBS-GHA-001  actions/checkout@v4 is not pinned to a full commit SHA",
      );
      expect(output.stdout.at(-1)).toMatch(/^FAILED: \d+ finding\(s\) at or above medium$/);
    });

    it("exits 0 when no finding reaches --severity", async () => {
      const output = memoryOutput();
      const code = await run(["scan", "workflows", "--path", root, "--severity", "critical"], output, {
        cwd: root,
      });
      expect(code).toBe(EXIT.OK);
      expect(output.stdout.at(-1)).toMatch(/^no findings at or above critical \(\d+ below the threshold\)$/);
    });

    it("prints one JSON document with --json and writes SARIF with --sarif", async () => {
      const output = memoryOutput();
      const sarifFile = join(root, "out", "scan.sarif");
      const code = await run(["scan", "iac", "--path", root, "--json", "--sarif", sarifFile], output, {
        cwd: root,
      });
      expect(code).toBe(EXIT.FAILED);
      const document = JSON.parse(output.stdout.join("\n"));
      expect(document.passed).toBe(false);
      expect(document.findings.length).toBeGreaterThan(10);
      const sarif = JSON.parse(await readFile(sarifFile, "utf8"));
      expect(sarif.runs[0].results.length).toBe(document.findings.length);
    });

    it("exits 2 on an unknown target or severity", async () => {
      expect(await run(["scan", "everything"], memoryOutput(), { cwd: root })).toBe(EXIT.USAGE);
      expect(await run(["scan", "--severity", "urgent"], memoryOutput(), { cwd: root })).toBe(EXIT.USAGE);
    });

    it("exits 2 when --path is not a directory", async () => {
      const output = memoryOutput();
      expect(await run(["scan", "secrets", "--path", join(root, "missing")], output, { cwd: root })).toBe(
        EXIT.USAGE,
      );
      expect(output.stderr[0]).toContain("is not a readable directory");
    });
  });
});
