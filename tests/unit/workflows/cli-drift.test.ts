import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { normaliseEventType } from "../../../src/notify/events.ts";
import { allRunScripts, REPO_ROOT } from "./workflow-files.ts";

/**
 * The workflows may only call what exists: every `npm run <script>` is a script in package.json, and every
 * `node bin/hbsync.js <command> [<sub>] --option …` is a command of the real program (built with
 * buildProgram) that declares those options and gets its required arguments.
 */

interface HbsyncInvocation {
  where: string;
  /** The words after `hbsync`, quotes removed, up to the end of the shell command. */
  words: string[];
}

/** Finds `node bin/hbsync.js …` / `npx hbsync …` / `npm run hbsync -- …` in a script. */
function hbsyncInvocations(where: string, script: string): HbsyncInvocation[] {
  const joined = script.replace(/\\\n\s*/g, " ");
  const found: HbsyncInvocation[] = [];
  const pattern = /(?:node\s+bin\/hbsync\.js|npx\s+hbsync|npm\s+run\s+hbsync\s+--)\s+([^\n|;&<>()]*)/g;
  for (const match of joined.matchAll(pattern)) {
    const words = (match[1] ?? "").match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
    found.push({ where, words: words.map((word) => word.replace(/^(["'])(.*)\1$/, "$2")) });
  }
  return found;
}

/** Problems with one invocation against the program: unknown command, option or missing argument. */
function checkInvocation(program: Command, invocation: HbsyncInvocation): string[] {
  let command = program;
  let index = 0;
  const path: string[] = [];
  while (index < invocation.words.length) {
    const word = invocation.words[index] ?? "";
    if (word.startsWith("-")) break;
    const child = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!child) break;
    command = child;
    path.push(word);
    index += 1;
  }
  const label = `${invocation.where}: hbsync ${invocation.words.join(" ")}`;
  if (path.length === 0) return [`${label} → no command "${invocation.words[0] ?? ""}"`];
  if (command.commands.length > 0 && command.registeredArguments.length === 0) {
    return [
      `${label} → "hbsync ${path.join(" ")}" needs a sub-command (${command.commands.map((c) => c.name()).join(", ")})`,
    ];
  }
  const problems: string[] = [];
  const positionals: string[] = [];
  const rest = invocation.words.slice(index);
  for (let i = 0; i < rest.length; i += 1) {
    const word = rest[i] ?? "";
    if (!word.startsWith("--")) {
      positionals.push(word);
      continue;
    }
    const name = word.split("=")[0] ?? word;
    const option = command.options.find((o) => o.long === name);
    if (!option) {
      problems.push(`${label} → "hbsync ${path.join(" ")}" has no option ${name}`);
      continue;
    }
    // `--env <name>` consumes the next word; `--nat [n]` does when it is not another option.
    const next = rest[i + 1];
    if (
      !word.includes("=") &&
      (option.required || (option.optional && next !== undefined && !next.startsWith("-")))
    ) {
      i += 1;
    }
  }
  const required = command.registeredArguments.filter((a) => a.required).length;
  if (positionals.length < required) {
    problems.push(
      `${label} → "hbsync ${path.join(" ")}" needs ${required} argument(s), got ${positionals.length}`,
    );
  }
  return problems;
}

describe("workflows ↔ code", () => {
  let program: Command;
  const scripts = allRunScripts();
  const invocations = scripts.flatMap(({ where, script }) => hbsyncInvocations(where, script));

  beforeAll(async () => {
    program = await buildProgram({ output: memoryOutput(), env: {}, cwd: REPO_ROOT, exitCode: 0 });
  });

  describe("hbsyncInvocations", () => {
    it("reads commands, quoted arguments and continued lines", () => {
      const found = hbsyncInvocations(
        "x",
        'node bin/hbsync.js config tfvars --env "$E" \\\n  --out f.tfvars >log',
      );
      expect(found).toEqual([
        { where: "x", words: ["config", "tfvars", "--env", "$E", "--out", "f.tfvars"] },
      ]);
    });
  });

  describe("checkInvocation", () => {
    it("reports an unknown command, sub-command and option", () => {
      const check = (line: string) =>
        checkInvocation(program, hbsyncInvocations("x", line)[0] ?? { where: "", words: [] });
      expect(check("node bin/hbsync.js nosuch thing")).toHaveLength(1);
      expect(check("node bin/hbsync.js config")).toHaveLength(1);
      expect(check("node bin/hbsync.js config validate --nosuch")).toHaveLength(1);
      expect(check("node bin/hbsync.js config validate --json")).toEqual([]);
    });
  });

  it("finds the hbsync calls of the pipeline", () => {
    const commands = new Set(invocations.map((i) => i.words.slice(0, 2).join(" ")));
    for (const expected of [
      "config validate",
      "config tfvars",
      "scan all",
      "cost --env",
      "notify test-results",
    ]) {
      expect(commands, expected).toContain(expected);
    }
    expect(invocations.length).toBeGreaterThanOrEqual(15);
  });

  it("calls only hbsync commands and options that exist", () => {
    const problems = invocations.flatMap((invocation) => checkInvocation(program, invocation));
    expect(problems).toEqual([]);
  });

  it("sends only notification events that exist", () => {
    const events: string[] = [];
    for (const { script } of scripts) {
      if (!script.includes("hbsync.js notify")) continue;
      for (const match of script.matchAll(/\bevent=([a-z_-]+)/g)) events.push(match[1] ?? "");
      for (const match of script.matchAll(/hbsync\.js notify ([a-z_-]+)/g)) events.push(match[1] ?? "");
    }
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(events.filter((event) => normaliseEventType(event) === null)).toEqual([]);
  });

  it("runs only npm scripts that package.json defines", () => {
    const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const used = scripts.flatMap(({ where, script }) =>
      [...script.matchAll(/npm run ([\w:-]+)/g)].map((match) => ({ where, name: match[1] ?? "" })),
    );
    expect(used.map((u) => u.name)).toEqual(expect.arrayContaining(["build", "lint", "typecheck"]));
    expect(used.filter((u) => !(u.name in packageJson.scripts))).toEqual([]);
  });
});
