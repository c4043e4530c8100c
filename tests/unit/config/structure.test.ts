import { describe, expect, it } from "vitest";
import { MAX_CONFIG_DEPTH, MAX_CONFIG_KEYS } from "../../../src/config/constants.ts";
import { formatDiagnostic } from "../../../src/config/diagnostics.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { positionIn } from "../../../src/config/structure.ts";
import { errorsOf, onlyError, withLines } from "./helpers.ts";

/** `extra:` with `count` keys below it (an unknown section: the schema would name it, if it ran). */
function manyKeys(count: number): string {
  const lines = ["extra:"];
  for (let i = 0; i < count; i++) lines.push(`  key_${i}: value`);
  return withLines(...lines);
}

describe("config/structure", () => {
  describe("duplicate keys (our own linear pass, not yaml's quadratic uniqueKeys)", () => {
    it("names the repeated key, where it repeats, and where it first appeared", () => {
      const error = onlyError(withLines("    aws_region: us-west-2"));

      expect(error).toMatchObject({ line: 7, col: 5 });
      expect(error.message).toBe("duplicate key `aws_region` in `environments.dev` (first at line 5:5)");
      expect(error.fix).toBe("keep one of the repeated keys and delete the other");
    });

    it('reports every repeat, at the top level and in flow maps, and `1` vs `"1"` (one JS key)', () => {
      const errors = errorsOf(
        withLines("project: {name: a, name: b}", "mirror:", "  retention_days: 3", "  1: x", '  "1": y'),
      );

      expect(errors.map(formatDiagnostic)).toEqual([
        "config.yaml:7:1: error: duplicate key `project` at the top level (first at line 1:1) — fix: keep one of the repeated keys and delete the other",
        "config.yaml:7:20: error: duplicate key `name` in `project` (first at line 7:11) — fix: keep one of the repeated keys and delete the other",
        "config.yaml:11:3: error: duplicate key `1` in `mirror` (first at line 10:3) — fix: keep one of the repeated keys and delete the other",
      ]);
    });
  });

  describe("key count", () => {
    it(`refuses more than ${MAX_CONFIG_KEYS} keys with one error, before the schema runs`, () => {
      const error = onlyError(manyKeys(MAX_CONFIG_KEYS));

      expect(error.message).toBe(
        `the file has more than ${MAX_CONFIG_KEYS} keys (this is key number ${MAX_CONFIG_KEYS + 1}); a config file has a few dozen (the example has about 80)`,
      );
      expect(error.fix).toContain("point --config at the right file");
    });

    it("refuses the 462 KB, 30,000-key file that took 37 s (now one pass over its tokens)", () => {
      const text = manyKeys(30_000);
      expect(text.length).toBeGreaterThan(462_000);

      const error = onlyError(text);

      expect(error.message).toContain(`more than ${MAX_CONFIG_KEYS} keys`);
      expect(`${error.line}:${error.col}`).toBe(`${7 + MAX_CONFIG_KEYS - 6}:11`);
    });

    it("validates a file just under the limit as usual (the unknown section is named)", () => {
      const error = onlyError(manyKeys(MAX_CONFIG_KEYS - 20));

      expect(error.message).toContain("unknown key `extra`");
    });
  });

  describe("nesting depth", () => {
    it("reports 1,000 nested brackets as nesting, not 'Maximum call stack size exceeded'", () => {
      const text = withLines(`  extra: ${"[".repeat(1000)}${"]".repeat(1000)}`);

      const error = onlyError(text);

      expect(error).toMatchObject({ line: 7, col: 10 + MAX_CONFIG_DEPTH });
      expect(error.message).toBe(
        `the YAML nests brackets more than ${MAX_CONFIG_DEPTH} levels deep here (\`[\` number ${MAX_CONFIG_DEPTH + 1} inside one another)`,
      );
      expect(error.fix).toContain("a config file nests a few levels");
    });

    it("reports 100,000 nested brackets and flow maps the same way", () => {
      for (const open of ["[", "{a: "]) {
        const error = onlyError(`project: ${open.repeat(100_000)}\n`);
        expect(error.message).toContain(`more than ${MAX_CONFIG_DEPTH} levels deep`);
        expect(error.message).not.toContain("call stack");
      }
    });

    it("reports block mappings nested deeper than the limit with the path", () => {
      const lines = ["mirror:"];
      for (let depth = 1; depth <= MAX_CONFIG_DEPTH + 5; depth++) lines.push(`${"  ".repeat(depth)}a:`);
      const error = onlyError(withLines(...lines));

      expect(error.message).toBe(
        `\`mirror${".a".repeat(MAX_CONFIG_DEPTH - 1)}\` nests more than ${MAX_CONFIG_DEPTH} levels deep`,
      );
      expect(error.line).toBe(7 + MAX_CONFIG_DEPTH);
    });

    it("refuses lines indented (or `- `-nested) past any config before parsing them", () => {
      for (const line of [`extra:\n${" ".repeat(300)}a: 1`, `extra:\n  ${"- ".repeat(3000)}x`]) {
        const result = parseConfig(withLines(line));
        expect(result.errors.map(formatDiagnostic)).toEqual([
          expect.stringMatching(/nests too deep here: this line is indented \d+ columns/),
        ]);
      }
    });
  });

  describe("positionIn", () => {
    it("turns an offset into a 1-based line and column", () => {
      expect(positionIn("ab\ncd\n", 0)).toEqual({ line: 1, col: 1 });
      expect(positionIn("ab\ncd\n", 4)).toEqual({ line: 2, col: 2 });
      expect(positionIn("ab\ncd\n", 6)).toEqual({ line: 3, col: 1 });
    });
  });
});
