import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../../../src/config/errors.ts";
import {
  annotationsEnabled,
  escapeData,
  escapeProperty,
  formatAnnotation,
} from "../../../src/pipeline/annotations.ts";
import { annotationsFor, PipelineErrorHandler } from "../../../src/pipeline/error-handler.ts";
import { PipelineError } from "../../../src/pipeline/errors.ts";

describe("annotations", () => {
  describe("escapeData", () => {
    it("escapes %, CR and LF, and % first so escapes are not double-read", () => {
      expect(escapeData("100% done\r\nnext")).toBe("100%25 done%0D%0Anext");
      expect(escapeData("%0A")).toBe("%250A");
    });

    it("leaves : and , alone in the message", () => {
      expect(escapeData("a: b, c")).toBe("a: b, c");
    });
  });

  describe("escapeProperty", () => {
    it("also escapes : and , so a value cannot end the property list", () => {
      expect(escapeProperty("C:\\dir,x=1\n")).toBe("C%3A\\dir%2Cx=1%0A");
    });
  });

  describe("formatAnnotation", () => {
    it("writes ::error with file, line, col and title properties", () => {
      expect(
        formatAnnotation({
          level: "error",
          file: "config.yaml",
          line: 3,
          col: 5,
          title: "Bad value",
          message: "x",
        }),
      ).toBe("::error file=config.yaml,line=3,col=5,title=Bad value::x");
    });

    it("cannot be broken out of by a hostile message or title", () => {
      const line = formatAnnotation({
        level: "warning",
        title: "t,file=evil::x",
        message: "first\n::error::injected",
      });
      expect(line).toBe("::warning title=t%2Cfile=evil%3A%3Ax::first%0A::error::injected");
      expect(line.split("\n")).toHaveLength(1);
    });

    it("omits properties that are not set", () => {
      expect(formatAnnotation({ level: "notice", message: "hi" })).toBe("::notice::hi");
    });
  });

  describe("annotationsEnabled", () => {
    it("is on only when GITHUB_ACTIONS=true", () => {
      expect(annotationsEnabled({ GITHUB_ACTIONS: "true" })).toBe(true);
      expect(annotationsEnabled({})).toBe(false);
    });
  });

  describe("annotationsFor", () => {
    it("gives one annotation per config diagnostic, at its file:line:col", () => {
      const error = new InvalidConfigError("config.yaml", [
        { severity: "error", file: "config.yaml", line: 4, col: 3, path: "x", message: "bad", fix: "fix it" },
        { severity: "error", file: "config.yaml", line: 9, col: 1, path: "y", message: "worse", fix: "" },
      ]);
      expect(annotationsFor(error).map(formatAnnotation)).toEqual([
        "::error file=config.yaml,line=4,col=3,title=Invalid configuration (HBS-CFG-001)::bad%0Afix: fix it",
        "::error file=config.yaml,line=9,col=1,title=Invalid configuration (HBS-CFG-001)::worse",
      ]);
    });

    it("titles a pipeline error with its catalogue title and code", () => {
      const [annotation] = annotationsFor(new PipelineError("HBS-INF-001", "terraform missing"));
      expect(annotation?.title).toBe("Terraform not installed (HBS-INF-001)");
      expect(annotation?.message).toContain("HBS-INF-001: terraform missing\nfix: Install Terraform");
    });
  });

  describe("PipelineErrorHandler.report", () => {
    it("prints annotations only inside GitHub Actions", () => {
      const lines: string[] = [];
      new PipelineErrorHandler({ env: {}, print: (l) => lines.push(l) }).report(
        new PipelineError("HBS-DEP-002", "x"),
      );
      expect(lines).toEqual([]);
      new PipelineErrorHandler({ env: { GITHUB_ACTIONS: "true" }, print: (l) => lines.push(l) }).report(
        new PipelineError("HBS-DEP-002", "x"),
      );
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^::error title=Terraform plan failed \(HBS-DEP-002\)::HBS-DEP-002: x%0Afix: /,
      );
    });
  });
});
