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

/**
 * Hostile structure: the shapes that once took minutes or overflowed the stack. Each input comes with
 * a description of its shape, for the failure message.
 */
interface Hostile {
  shape: string;
  text: string;
}

const keyCount = fc.oneof(
  fc.integer({ min: 1, max: 3000 }),
  fc.integer({ min: 3000, max: 45_000 }),
  fc.constant(30_000), // the 462 KB file of issue 18 (37 s with yaml's uniqueKeys)
);

const largeMap: fc.Arbitrary<Hostile> = fc
  .record({
    keys: keyCount,
    style: fc.constantFrom("top-level", "block", "flow"),
    repeatEvery: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
  })
  .map(({ keys, style, repeatEvery }) => {
    const name = (i: number): string => `k${repeatEvery === undefined ? i : i % repeatEvery}`;
    const entries = Array.from({ length: keys }, (_, i) => name(i));
    const text =
      style === "flow"
        ? `${BASE}extra: {${entries.map((key) => `${key}: v`).join(", ")}}\n`
        : style === "block"
          ? `${BASE}extra:\n${entries.map((key) => `  ${key}: v`).join("\n")}\n`
          : `${BASE}${entries.map((key) => `${key}: v`).join("\n")}\n`;
    return { shape: `${keys} keys, ${style}${repeatEvery ? `, repeating every ${repeatEvery}` : ""}`, text };
  });

const nestingDepth = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.integer({ min: 64, max: 5000 }),
  fc.integer({ min: 5000, max: 200_000 }),
  fc.constant(1000),
);

const deepNesting: fc.Arbitrary<Hostile> = fc
  .record({
    depth: nestingDepth,
    style: fc.constantFrom("flow-seq", "flow-map", "mixed-flow", "block-map", "block-seq", "seq-of-flow"),
    closed: fc.boolean(),
  })
  .map(({ depth, style, closed }) => {
    let value: string;
    if (style === "block-map") {
      const levels = Math.min(depth, 1400); // d levels of 1-space steps take d²/2 bytes: stay under 1 MB
      value = `\n${Array.from({ length: levels }, (_, i) => `${" ".repeat(i + 1)}a:`).join("\n")} 1`;
    } else if (style === "block-seq") value = `\n  ${"- ".repeat(depth)}x`;
    else if (style === "seq-of-flow") value = `\n  ${"- [".repeat(depth)}x${closed ? "]".repeat(depth) : ""}`;
    else {
      const open = style === "flow-seq" ? "[" : style === "flow-map" ? "{a: " : "[{a: ";
      const close = style === "flow-seq" ? "]" : style === "flow-map" ? "}" : "}]";
      value = ` ${open.repeat(depth)}1${closed ? close.repeat(depth) : ""}`;
    }
    return {
      shape: `depth ${depth}, ${style}${closed ? "" : ", unclosed"}`,
      text: `${BASE}extra:${value}\n`,
    };
  });

const aliasBomb: fc.Arbitrary<Hostile> = fc
  .record({
    levels: fc.integer({ min: 2, max: 14 }),
    width: fc.integer({ min: 2, max: 24 }),
    maps: fc.boolean(),
    where: fc.constantFrom("top", "mirror.tags", "environments"),
  })
  .map(({ levels, width, maps, where }) => {
    const lines = [maps ? "x0: &a0 {k: v}" : "x0: &a0 [v, v]"];
    for (let level = 1; level < levels; level++) {
      const refs = Array.from({ length: width }, (_, i) =>
        maps ? `k${i}: *a${level - 1}` : `*a${level - 1}`,
      );
      lines.push(
        maps ? `x${level}: &a${level} {${refs.join(", ")}}` : `x${level}: &a${level} [${refs.join(", ")}]`,
      );
    }
    const last = `*a${levels - 1}`;
    const use =
      where === "mirror.tags"
        ? `mirror:\n  tags: ${last}\n`
        : where === "environments"
          ? `bomb: ${last}\n`
          : `top: ${last}\n`;
    return {
      shape: `alias bomb ${width}^${levels}${maps ? " of maps" : ""} used at ${where}`,
      text: `${BASE}${lines.join("\n")}\n${use}`,
    };
  });

/**
 * The fuzzer's own wall-time bound per input. The fixed code takes well under a second for any of these
 * (see the note on issue 18); the quadratic duplicate-key check took 37 s on 30,000 keys, and 1,000
 * brackets overflowed the stack. Generous, so a loaded machine does not trip it.
 */
const WALL_BUDGET_MS = 10_000;

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

  describe("parseConfig on hostile structure", () => {
    it("ends large maps, deep nesting and alias bombs in located errors, each within the wall-time bound", () => {
      const inputs = fc.sample(fc.oneof(largeMap, deepNesting, aliasBomb), { numRuns: 45, seed: 18 });
      const slow: string[] = [];
      const shapes = new Set<string>();
      for (const input of inputs) {
        shapes.add(input.shape.split(",")[0]?.replace(/\d+/g, "N") ?? "");
        const started = performance.now();
        const problems = problemsWith(input.text);
        const elapsed = performance.now() - started;
        if (elapsed > WALL_BUDGET_MS) slow.push(`${input.shape}: ${Math.round(elapsed)} ms`);
        expect(problems, input.shape).toEqual([]);
        const messages = parseConfig(input.text).errors.map(formatDiagnostic).join("\n");
        expect(messages, input.shape).not.toMatch(/call stack|bug in hbsync/);
      }
      expect(slow).toEqual([]);
      // The sample really covers the three families.
      expect([...shapes].some((shape) => shape.includes("keys"))).toBe(true);
      expect([...shapes].some((shape) => shape.includes("depth"))).toBe(true);
      expect([...shapes].some((shape) => shape.includes("alias bomb"))).toBe(true);
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
