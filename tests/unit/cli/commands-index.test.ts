import { describe, expect, it } from "vitest";
import { buildProgram, commandOf, run, topLevelHelp } from "../../../src/cli/cli.ts";
import { COMMAND_MODULES, COMMAND_SUMMARIES } from "../../../src/cli/commands/index.ts";
import type { CliContext } from "../../../src/cli/context.ts";
import { EXIT } from "../../../src/cli/exit-codes.ts";
import { memoryOutput } from "../../../src/cli/output.ts";

const context = (): CliContext => ({ output: memoryOutput(), env: {}, cwd: process.cwd(), exitCode: 0 });
const named = COMMAND_MODULES.flatMap((entry) => (typeof entry === "function" ? [] : [entry[0]]));

describe("cli/commands/index", () => {
  describe("COMMAND_MODULES", () => {
    it.each(named)("the %s entry loads the module that registers exactly that command", async (name) => {
      const bare = COMMAND_MODULES.filter((entry) => typeof entry === "function").length;

      const program = await buildProgram(context(), { only: name });

      const commands = program.commands.map((command) => command.name());
      expect(commands).toContain(name);
      expect(commands).toHaveLength(1 + bare);
    });

    it("names every top-level command once (the full program has no command the list does not name)", async () => {
      const program = await buildProgram(context());

      const commands = program.commands.map((command) => command.name()).sort();
      expect(new Set(named).size).toBe(named.length);
      expect(commands).toEqual([...named].sort());
    });
  });

  describe("COMMAND_SUMMARIES", () => {
    it("gives the top-level help, line for line, that the program with every module loaded gives", async () => {
      const full = await buildProgram(context());
      const summaries = await buildProgram(context(), { summaries: true });

      expect(Object.keys(COMMAND_SUMMARIES)).toEqual(named);
      expect(summaries.helpInformation()).toBe(full.helpInformation());
    });
  });
});

describe("cli", () => {
  describe("commandOf", () => {
    it.each([
      [["sync", "--dest", "./mirror"], "sync"],
      [["--json", "verify"], "verify"],
      [["env", "deploy", "prod", "--version", "abc"], "env"],
      [["--help"], undefined],
      [[], undefined],
      [["help", "sync"], undefined],
      [["no-such-command"], undefined],
    ])("reads %j as %s", (argv, expected) => {
      expect(commandOf(argv)).toBe(expected);
    });
  });

  describe("topLevelHelp", () => {
    it.each([
      [[], true],
      [["--help"], true],
      [["-h"], true],
      [["--version"], true],
      [["help"], true],
      [["help", "sync"], false],
      [["sync", "--help"], false],
      [["verfy"], false],
    ])("reads %j as %s", (argv, expected) => {
      expect(topLevelHelp(argv)).toBe(expected);
    });
  });

  describe("run", () => {
    it("runs a command with only its own module loaded, and still suggests across all commands", async () => {
      const output = memoryOutput();

      expect(await run(["config", "--help"], output)).toBe(EXIT.OK);
      expect(output.stdout.join("\n")).toContain("Usage: hbsync config");

      const typo = memoryOutput();
      expect(await run(["verfy"], typo)).toBe(EXIT.USAGE);
      expect(typo.stderr.join("\n")).toContain("verify");
    });
  });
});
