import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT_CODE_BY_KIND } from "../../../src/cli/exit-codes.ts";
import { renderTroubleshooting } from "../../../src/pipeline/error-docs.ts";
import {
  CATEGORY_PREFIX,
  ERROR_CATALOGUE,
  type ErrorCode,
  errorBlock,
  firstErrorLine,
  PipelineError,
  TerraformCommandError,
} from "../../../src/pipeline/errors.ts";
import { HbsyncError } from "../../../src/shared/errors.ts";

const DOC = resolve(import.meta.dirname, "../../../docs/troubleshooting.md");

describe("pipeline errors", () => {
  describe("ERROR_CATALOGUE", () => {
    it("gives every code the HBS-<category>-<NNN> form of its category, a title, meaning and fix", () => {
      for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
        expect(entry.code).toBe(code);
        expect(code).toMatch(new RegExp(`^HBS-${CATEGORY_PREFIX[entry.category]}-\\d{3}$`));
        expect(entry.title.length).toBeGreaterThan(3);
        expect(entry.meaning.length).toBeGreaterThan(20);
        expect(entry.fix.length).toBeGreaterThan(20);
      }
    });

    it("covers all five of the user's categories", () => {
      const categories = new Set(Object.values(ERROR_CATALOGUE).map((entry) => entry.category));
      expect([...categories].sort()).toEqual([
        "build",
        "configuration",
        "deployment",
        "infrastructure",
        "test",
      ]);
    });
  });

  describe("PipelineError", () => {
    it("is an HbsyncError carrying its code, the catalogue's fix, and an exit code by category", () => {
      const deploy = new PipelineError("HBS-DEP-001", "apply failed");
      expect(deploy).toBeInstanceOf(HbsyncError);
      expect(deploy.message).toBe("HBS-DEP-001: apply failed");
      expect(deploy.fix).toBe(ERROR_CATALOGUE["HBS-DEP-001"].fix);
      expect(EXIT_CODE_BY_KIND[deploy.kind]).toBe(1);
      expect(EXIT_CODE_BY_KIND[new PipelineError("HBS-CFG-003", "x").kind]).toBe(2);
      expect(new PipelineError("HBS-INF-002", "x", { fix: "specific" }).fix).toBe("specific");
    });

    it("keeps the cause", () => {
      const cause = new Error("root");
      expect(new PipelineError("HBS-INF-006", "x", { cause }).cause).toBe(cause);
    });
  });

  describe("TerraformCommandError", () => {
    const stderr = [
      "╷",
      "│ Error: local-exec provisioner error",
      "│ ",
      "│   with terraform_data.apply_failure[0],",
      "│   on main.tf line 86",
      "╵",
    ].join("\n");

    it("summarises terraform's first Error: line and keeps its block as details", () => {
      const error = new TerraformCommandError("HBS-DEP-001", "terraform apply", 1, stderr);
      expect(error.message).toBe(
        "HBS-DEP-001: `terraform apply` failed (exit 1): local-exec provisioner error",
      );
      expect(error.details[0]).toBe("Error: local-exec provisioner error");
      expect(error.details).toContain("  on main.tf line 86");
    });

    it("falls back to the first line when there is no Error: line", () => {
      expect(firstErrorLine("\n  something odd\nmore")).toBe("something odd");
      expect(errorBlock("a\nb")).toEqual(["a", "b"]);
    });
  });

  describe("docs/troubleshooting.md", () => {
    it("is exactly what the catalogue renders (UPDATE_DOCS=1 rewrites it)", async () => {
      const rendered = renderTroubleshooting();
      if (process.env.UPDATE_DOCS === "1") await writeFile(DOC, rendered);
      const onDisk = await readFile(DOC, "utf8");
      expect(onDisk, "run UPDATE_DOCS=1 npx vitest run tests/unit/pipeline/errors.test.ts").toBe(rendered);
      for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
        expect(onDisk).toContain(`### ${code} — ${ERROR_CATALOGUE[code].title}`);
        expect(onDisk).toContain(ERROR_CATALOGUE[code].fix);
      }
    });
  });
});
