import { describe, expect, it } from "vitest";
import { reportError, run } from "../../../src/cli/cli.ts";
import { EXIT } from "../../../src/cli/exit-codes.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { HbsyncError, UsageError } from "../../../src/shared/errors.ts";

describe("cli", () => {
  describe("run", () => {
    it("prints help and exits 0", async () => {
      const output = memoryOutput();
      expect(await run(["--help"], output)).toBe(EXIT.OK);
      expect(output.stdout.join("\n")).toContain("Usage: hbsync");
    });

    it("exits 2 on an unknown command", async () => {
      const output = memoryOutput();
      expect(await run(["no-such-command"], output)).toBe(EXIT.USAGE);
    });
  });

  describe("reportError", () => {
    it("prints the message and the fix of an expected error and maps its kind to an exit code", () => {
      const output = memoryOutput();
      const code = reportError(
        new HbsyncError("lock held by run r1", { kind: "locked", fix: "wait" }),
        output,
      );
      expect(code).toBe(EXIT.LOCKED);
      expect(output.stderr).toEqual(["error: lock held by run r1", "fix: wait"]);
    });

    it("maps usage errors to exit 2", () => {
      expect(reportError(new UsageError("bad flag"), memoryOutput())).toBe(EXIT.USAGE);
    });

    it("says an unexpected error is a bug, in one line without a stack trace", () => {
      const output = memoryOutput();
      expect(reportError(new TypeError("x is undefined"), output, {})).toBe(EXIT.FAILED);
      expect(output.stderr).toHaveLength(1);
      expect(output.stderr[0]).toContain("TypeError: x is undefined");
      expect(output.stderr[0]).toContain("this is a bug in hbsync");
      expect(output.stderr.join("\n")).not.toMatch(/\n\s+at /);
    });

    it("prints the stack of an unexpected error with HBSYNC_DEBUG=1", () => {
      const output = memoryOutput();
      reportError(new TypeError("x is undefined"), output, { HBSYNC_DEBUG: "1" });
      expect(output.stderr.join("\n")).toMatch(/\n\s+at /);
    });
  });
});

describe("cli options", () => {
  it("gives a sub-command's own --version to the sub-command, not to the program's -V", async () => {
    const output = memoryOutput();
    // `env deploy` requires its environment; with --version taken by the program, this would exit 0.
    const code = await run(["env", "deploy", "--version", "abc"], output);
    expect(code).toBe(EXIT.USAGE);
    expect(output.stdout.join("\n")).not.toContain("0.1.0");
  });
});
