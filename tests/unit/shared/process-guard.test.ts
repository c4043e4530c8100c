import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { UnexpectedError } from "../../../src/shared/errors.ts";
import { installProcessGuard, onUnexpectedError } from "../../../src/shared/process-guard.ts";

describe("shared/process-guard", () => {
  const target = new EventEmitter();
  let uninstall: () => void = () => {};
  afterEach(() => uninstall());

  const install = () => {
    const reports: Array<{ error: UnexpectedError; handled: boolean }> = [];
    uninstall = installProcessGuard({
      process: target as unknown as NodeJS.Process,
      report: (error, handled) => reports.push({ error, handled }),
    });
    return reports;
  };

  it("hands an uncaught exception to every running job, then reports it as handled", () => {
    const reports = install();
    const aborted: string[] = [];
    const stopA = onUnexpectedError((error) => aborted.push(`a: ${error.message}`));
    const stopB = onUnexpectedError((error) => aborted.push(`b: ${error.message}`));

    target.emit("uncaughtException", new Error("boom"));
    stopA();
    stopB();

    expect(aborted).toEqual([
      "a: an unexpected error outside the run: boom",
      "b: an unexpected error outside the run: boom",
    ]);
    expect(reports).toHaveLength(1);
    expect(reports[0]?.handled).toBe(true);
    expect(reports[0]?.error).toBeInstanceOf(UnexpectedError);
    expect((reports[0]?.error.cause as Error).message).toBe("boom");
  });

  it("reports an unhandled rejection with no job running as not handled (the entry point ends)", () => {
    const reports = install();

    target.emit("unhandledRejection", new TypeError("x is undefined"), Promise.resolve());

    expect(reports.map((r) => [r.handled, r.error.message])).toEqual([
      [false, "an unexpected error outside the run: TypeError: x is undefined"],
    ]);
  });

  it("stops listening once uninstalled", () => {
    const reports = install();
    uninstall();

    expect(target.listenerCount("uncaughtException")).toBe(0);
    expect(target.listenerCount("unhandledRejection")).toBe(0);
    expect(reports).toEqual([]);
  });
});
