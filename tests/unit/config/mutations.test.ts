import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { formatDiagnostic } from "../../../src/config/diagnostics.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { renderTfvarsHcl, toTfvars } from "../../../src/config/tfvars.ts";

/**
 * Property: whatever happens to config.yaml — wrong types, deleted or extra keys, broken YAML, huge
 * numbers, unicode, an empty file — validation ends in a valid config or in errors that each carry a
 * position, a message and a fix. It never throws, and the CLI never prints a stack trace.
 */

const BASE = readFileSync(new URL("../../../config.yaml", import.meta.url), "utf8");
const BASE_DOC = parseDocument(BASE);
type Path = Array<string | number>;

function collectPaths(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== "object") return [prefix];
  const children = Array.isArray(value)
    ? value.map((item, index) => collectPaths(item, [...prefix, index]))
    : Object.entries(value).map(([key, item]) => collectPaths(item, [...prefix, key]));
  return [prefix, ...children.flat()];
}

const PATHS = collectPaths(BASE_DOC.toJS()).filter((path) => path.length > 0);
const MAPS = PATHS.filter((path) => {
  const node = BASE_DOC.toJS() as unknown;
  const value = path.reduce<unknown>(
    (at, segment) => (at as Record<string | number, unknown>)[segment],
    node,
  );
  return value !== null && typeof value === "object" && !Array.isArray(value);
});

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e308, -1e308, -1, 0, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, 3.5),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    "yes",
    "no",
    "us-wst-2",
    "arm64_sequia",
    "cron(0 3 * * * *)",
    "rate(1 hours)",
    "hooks.slack.com/services/T/B/X",
  ),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { maxKeys: 2 }),
);

const keyName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.constantFrom(
    "size_treshold_gb",
    "aws_regoin",
    "taskcpu",
    "webhook_url",
    "password",
    "🍺",
    "__proto__",
    "constructor",
  ),
);

type Mutation =
  | { kind: "set"; path: Path; value: unknown }
  | { kind: "delete"; path: Path }
  | { kind: "add"; path: Path; key: string; value: unknown }
  | { kind: "insert"; at: number; text: string }
  | { kind: "cut"; at: number; length: number }
  | { kind: "truncate"; at: number }
  | { kind: "indent"; line: number; prefix: string }
  | { kind: "replace"; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), path: fc.constantFrom(...PATHS), value: anyValue }),
  fc.record({ kind: fc.constant("delete" as const), path: fc.constantFrom(...PATHS) }),
  fc.record({
    kind: fc.constant("add" as const),
    path: fc.constantFrom([], ...MAPS),
    key: keyName,
    value: anyValue,
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom(":", "- ", "\t", "[", "{", "'", '"', "&a ", "*a", "\n---\n", "\u0000", "é"),
    ),
  }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("indent" as const),
    line: fc.nat(),
    prefix: fc.constantFrom(" ", "  ", "\t", "   "),
  }),
  fc.record({
    kind: fc.constant("replace" as const),
    text: fc.oneof(
      fc.constantFrom("", "1e308", "[]", "- a", "~", "🍺: 🍺", "{"),
      fc.string({ unit: "grapheme", maxLength: 30 }),
    ),
  }),
);

function apply(text: string, change: Mutation): string {
  switch (change.kind) {
    case "set":
    case "delete":
    case "add": {
      // Cloning the parsed original saves a parse on the (common) first mutation.
      const doc = text === BASE ? BASE_DOC.clone() : parseDocument(text);
      if (doc.errors.length > 0) return text;
      try {
        if (change.kind === "set") doc.setIn(change.path, change.value);
        else if (change.kind === "delete") doc.deleteIn(change.path);
        else doc.setIn([...change.path, change.key], change.value);
        return doc.toString();
      } catch {
        return text; // the path no longer exists after an earlier mutation
      }
    }
    case "insert": {
      const at = change.at % (text.length + 1);
      return text.slice(0, at) + change.text + text.slice(at);
    }
    case "cut": {
      const at = change.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + change.length);
    }
    case "truncate":
      return text.slice(0, change.at % (text.length + 1));
    case "indent": {
      const lines = text.split("\n");
      const index = change.line % lines.length;
      lines[index] = change.prefix + (lines[index] ?? "");
      return lines.join("\n");
    }
    case "replace":
      return change.text;
  }
}

const mutatedConfig = fc
  .array(mutation, { minLength: 1, maxLength: 3 })
  .map((changes) => changes.reduce((text, change) => apply(text, change), BASE));

/** What is wrong with one outcome (empty when it is a valid config or properly located errors). */
function problemsWith(text: string): string[] {
  const result = parseConfig(text, "config.yaml");
  const lineCount = text.split("\n").length;
  const problems: string[] = [];
  for (const d of [...result.errors, ...result.warnings]) {
    const line = formatDiagnostic(d);
    if (!(d.line >= 1 && d.line <= lineCount + 1 && d.col >= 1)) problems.push(`bad position: ${line}`);
    if (d.message === "" || d.fix === "") problems.push(`no message or fix: ${line}`);
    if (line.includes("bug in hbsync")) problems.push(line);
  }
  if (result.errors.length === 0) {
    if (!result.config) problems.push("no errors but no config");
    // A valid config renders tfvars for every environment.
    for (const env of Object.keys(result.config?.environments ?? {})) {
      if (result.config) renderTfvarsHcl(toTfvars(result.config, env, { artifactVersion: "x" }));
    }
  } else if (result.config) {
    problems.push("errors but a config was returned");
  }
  return problems;
}

describe("config/load under mutation", () => {
  describe("parseConfig", () => {
    it("ends every mutated config.yaml in a valid config or located errors (1,000 runs)", () => {
      fc.assert(
        fc.property(mutatedConfig, (text) => {
          expect(problemsWith(text)).toEqual([]);
        }),
        { numRuns: 1000, seed: 20250101 },
      );
    });

    it("finds errors in most mutations (the generator really breaks things)", () => {
      const samples = fc.sample(mutatedConfig, { numRuns: 100, seed: 7 });
      const invalid = samples.filter((text) => parseConfig(text).errors.length > 0).length;
      expect(invalid).toBeGreaterThan(50);
    });
  });

  describe("hbsync config validate", () => {
    it("exits 0 or 1 without a stack trace for 30 mutated files", async () => {
      const dir = await mkdtemp(join(tmpdir(), "hbsync-mutations-"));
      const samples = fc.sample(mutatedConfig, { numRuns: 30, seed: 42 });
      for (const [index, text] of samples.entries()) {
        const file = join(dir, `config-${index}.yaml`);
        await writeFile(file, text);
        const output = memoryOutput();
        const code = await run(["config", "validate", "--config", file], output, { cwd: dir, env: {} });
        const stderr = output.stderr.join("\n");
        expect([0, 1]).toContain(code);
        expect(stderr).not.toMatch(/\n\s+at |unexpected error|bug in hbsync/);
        expect(output.stdout.at(-1)).toMatch(/ is (valid|invalid: \d+ errors?), \d+ warnings?$/);
      }
    });
  });
});
