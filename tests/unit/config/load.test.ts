import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FARGATE_MEMORY_BY_CPU } from "../../../src/config/constants.ts";
import { formatDiagnostic } from "../../../src/config/diagnostics.ts";
import { ConfigFileError, InvalidConfigError } from "../../../src/config/errors.ts";
import { loadConfig, loadConfigOrThrow, parseConfig } from "../../../src/config/load.ts";
import { errorsOf, onlyError, REPO_CONFIG, withLines } from "./helpers.ts";

describe("config/load", () => {
  describe("parseConfig", () => {
    it("accepts the shipped config.yaml with no errors or warnings", () => {
      const result = parseConfig(readFileSync(REPO_CONFIG, "utf8"), "config.yaml");
      expect(result.errors.map(formatDiagnostic)).toEqual([]);
      expect(result.warnings.map(formatDiagnostic)).toEqual([]);
      expect(Object.keys(result.config?.environments ?? {})).toEqual(["dev", "staging", "prod"]);
    });

    it("applies defaults to a minimal config", () => {
      const { config, errors } = parseConfig(withLines(), "config.yaml");
      expect(errors).toEqual([]);
      expect(config?.environments.dev).toMatchObject({
        size_threshold_gb: 10,
        enable_fargate_spot: false,
        budget_usd: 0,
      });
      expect(config?.resources).toEqual({
        lambda: { orchestrator_memory: 512, sync_memory: 3008, timeout: 900 },
        ecs: { task_cpu: 2048, task_memory: 8192, ephemeral_storage: 100 },
      });
      expect(config?.mirror).toEqual({
        tags: ["arm64_sequoia", "arm64_sonoma", "x86_64_linux"],
        formulae: { include: [], exclude: [] },
        upstream: {
          api: "https://formulae.brew.sh/api",
          registry: "https://ghcr.io/v2/homebrew/core",
          brew_git: "https://github.com/Homebrew/brew.git",
          trusted_key: "builtin",
        },
        brew_git: false,
        layouts: ["flat"],
        retention_days: 7,
        concurrency: { checkers: 8, transfers: 4 },
        shards: { max_tasks: 1, gb_per_task: 50 },
      });
      expect(config?.notifications).toEqual({
        slack: { enabled: false },
        email: { enabled: false, addresses: [] },
      });
    });

    it("formats a diagnostic as file:line:col: severity: message — fix: how", () => {
      const error = onlyError(withLines("    size_treshold_gb: 5"));
      expect(formatDiagnostic(error)).toBe(
        "config.yaml:7:5: error: unknown key `size_treshold_gb` in `environments.dev` — did you mean `size_threshold_gb`? — fix: rename it to `size_threshold_gb`",
      );
      expect(error.path).toBe("environments.dev.size_treshold_gb");
    });

    it("reports a YAML syntax error with its position", () => {
      const error = onlyError(withLines("\tsize_threshold_gb: 5"));
      expect(error).toMatchObject({ line: 7, col: 1 });
      expect(error.message).toContain("YAML syntax error");
      expect(error.fix).toContain("spaces, not tabs");
    });

    it("reports a duplicate key at the repeat", () => {
      const error = onlyError(withLines("    aws_region: us-west-2"));
      expect(error).toMatchObject({ line: 7, col: 5 });
      expect(error.fix).toContain("repeated keys");
    });

    it("lists the allowed keys for an unknown key with no close match", () => {
      const error = onlyError(withLines("    colour: blue"));
      expect(error).toMatchObject({ line: 7, col: 5, message: "unknown key `colour` in `environments.dev`" });
      expect(error.fix).toContain("`aws_region`, `size_threshold_gb`");
    });

    it("suggests the full key for a shortened one", () => {
      const error = onlyError(withLines("resources:", "  ecs:", "    memory: 4096"));
      expect(error.message).toBe("unknown key `memory` in `resources.ecs` — did you mean `task_memory`?");
    });

    it.each([
      [
        "project name",
        ["project:", "  name: My Project"],
        "`My Project` is not a valid project name (`project.name`)",
      ],
      ["formula name", ["mirror:", "  formulae:", "    include: [Git]"], "`Git` is not a valid formula name"],
      [
        "Slack channel",
        ["notifications:", "  slack:", "    channel: general chat"],
        "`general chat` is not a valid Slack channel",
      ],
    ])("explains an invalid %s", (_name, lines, message) => {
      const text =
        lines[0] === "project:"
          ? withLines().replace("project:\n  name: demo", lines.join("\n"))
          : withLines(...lines);
      expect(onlyError(text).message).toContain(message);
    });

    it("says which bracket to close", () => {
      const error = onlyError("project: {name: demo\n");
      expect(error.fix).toBe("close it with a matching }");
    });

    it("reports a wrong type at the value, with a fix for quoted numbers and yes/no", () => {
      const quoted = onlyError(withLines("resources:", "  ecs:", '    task_memory: "4096"'));
      expect(quoted).toMatchObject({ line: 9, col: 18, fix: "remove the quotes: `task_memory: 4096`" });
      expect(quoted.message).toBe('`resources.ecs.task_memory` must be a whole number, not the text "4096"');
      const yes = onlyError(withLines("    enable_fargate_spot: yes"));
      expect(yes).toMatchObject({ line: 7, col: 26 });
      expect(yes.fix).toContain("true");
    });

    it("reports a missing required key at its parent", () => {
      const error = onlyError("project:\n  name: demo\nenvironments:\n  dev:\n    aws_region: us-east-1\n");
      expect(error).toMatchObject({ line: 4, col: 3, path: "environments.dev.schedule_expression" });
      expect(error.message).toBe("missing required key `schedule_expression` under `environments.dev`");
      expect(error.fix).toBe("add `schedule_expression: cron(0 3 ? * SUN *)` under `environments.dev`");
    });

    it("reports a missing top-level section at the start of the file", () => {
      const error = onlyError("# comment\nproject:\n  name: demo\n");
      expect(error).toMatchObject({ line: 2, col: 1, path: "environments" });
      expect(error.fix).toContain("add a `environments:` section");
    });

    it.each(Object.entries(FARGATE_MEMORY_BY_CPU))(
      "rejects a Fargate pair with cpu %s and lists that cpu's valid memory values",
      (cpu, memories) => {
        const error = onlyError(
          withLines("resources:", "  ecs:", `    task_cpu: ${cpu}`, "    task_memory: 3000"),
        );
        expect(error).toMatchObject({ line: 10, col: 18 });
        expect(error.message).toBe(`Fargate does not accept task_cpu ${cpu} with task_memory 3000`);
        expect(error.fix).toBe(
          `with task_cpu ${cpu}, set task_memory to one of ${memories.join(", ")} (MiB)`,
        );
      },
    );

    it("checks the Fargate pair after merging an environment's override", () => {
      // dev overrides only the cpu: 256 cannot have the shared 8192 MiB.
      const error = onlyError(withLines("    resources:", "      ecs:", "        task_cpu: 256"));
      expect(error).toMatchObject({ line: 9, col: 19 });
      expect(error.message).toBe(
        "Fargate does not accept task_cpu 256 with task_memory 8192 (environment dev)",
      );
      expect(error.fix).toContain("512, 1024, 2048");
    });

    it("rejects a task_cpu Fargate does not offer", () => {
      const error = onlyError(withLines("resources:", "  ecs:", "    task_cpu: 3000"));
      expect(error.message).toBe("Fargate has no task_cpu 3000");
      expect(error.fix).toBe("use one of: 256, 512, 1024, 2048, 4096, 8192, 16384");
    });

    it.each([20, 201])("rejects ephemeral storage of %i GiB", (gib) => {
      const error = onlyError(withLines("resources:", "  ecs:", `    ephemeral_storage: ${gib}`));
      expect(error).toMatchObject({ line: 9, col: 24 });
      expect(error.fix).toContain("use 21 to 200");
    });

    it("rejects an invalid schedule with an example", () => {
      const error = onlyError(
        withLines("  prod:", "    aws_region: us-east-1", '    schedule_expression: "cron(0 3 * * SUN *)"'),
      );
      expect(error).toMatchObject({ line: 9, col: 26, path: "environments.prod.schedule_expression" });
      expect(error.message).toContain("exactly one of day-of-month and day-of-week must be `?`");
      expect(error.fix).toBe(
        'write an EventBridge expression, e.g. `schedule_expression: "cron(0 3 ? * SUN *)"`',
      );
    });

    it("rejects an unknown AWS region and suggests the closest", () => {
      const error = onlyError(
        withLines("  prod:", "    aws_region: eu-wset-1", '    schedule_expression: "rate(1 day)"'),
      );
      expect(error).toMatchObject({
        line: 8,
        col: 17,
        message: "unknown AWS region `eu-wset-1` — did you mean `eu-west-1`?",
      });
      const far = onlyError(
        withLines("  prod:", "    aws_region: moon-1", '    schedule_expression: "rate(1 day)"'),
      );
      expect(far.fix).toContain("us-east-1");
      expect(far.fix).toContain("ap-southeast-7");
    });

    it("rejects unknown bottle tags and accepts every known one", () => {
      const error = onlyError(withLines("mirror:", "  tags: [arm64_sequoia, arm64_sequia]"));
      expect(error.message).toBe("unknown bottle tag `arm64_sequia` — did you mean `arm64_sequoia`?");
      expect(error).toMatchObject({ line: 8, col: 25 });
      const all = withLines(
        "mirror:",
        "  tags: [arm64_tahoe, tahoe, arm64_sequoia, sequoia, arm64_sonoma, sonoma, arm64_ventura, ventura, arm64_monterey, monterey, arm64_big_sur, big_sur, catalina, x86_64_linux, arm64_linux, all]",
      );
      expect(errorsOf(all)).toEqual([]);
    });

    it("accepts mirror.layouts [flat, oci] and refuses a list without flat, at its line", () => {
      expect(errorsOf(withLines("mirror:", "  layouts: [flat, oci]"))).toEqual([]);
      const error = onlyError(withLines("mirror:", "  layouts: [oci]"));
      expect(error.message).toContain("`mirror.layouts` must include `flat`");
      expect(error).toMatchObject({ line: 8, path: "mirror.layouts" });
      expect(errorsOf(withLines("mirror:", "  layouts: [flat, zip]"))).toHaveLength(1);
    });

    it("reports every unknown tag, not just the first", () => {
      const errors = errorsOf(withLines("mirror:", "  tags: [bogus, windows]"));
      expect(errors.map((e) => `${e.line}:${e.col}`)).toEqual(["8:10", "8:17"]);
    });

    it("rejects an invalid email address at the list item", () => {
      const error = onlyError(
        withLines(
          "notifications:",
          "  email:",
          "    enabled: true",
          "    addresses: [ops@example.com, ops-at-example]",
        ),
      );
      expect(error).toMatchObject({ line: 10, col: 34, path: "notifications.email.addresses[1]" });
      expect(error.message).toBe(
        "invalid email address `ops-at-example` in `notifications.email.addresses[1]`",
      );
    });

    it.each([
      ["    size_threshold_gb: 0", 7, 24, "must be positive, not 0"],
      ["    size_threshold_gb: -5", 7, 24, "must be positive, not -5"],
      ["    budget_usd: -1", 7, 17, "must be positive, not -1"],
    ])("rejects a non-positive number: %s", (line, row, col, message) => {
      const error = onlyError(withLines(line));
      expect(error).toMatchObject({ line: row, col });
      expect(error.message).toContain(message);
    });

    it.each([
      ["timeout: 0", "use 1 to 900"],
      ["timeout: 901", "use 1 to 900"],
      ["sync_memory: 0", "must be positive"],
      ["orchestrator_memory: -128", "must be positive"],
    ])("rejects lambda %s", (setting, text) => {
      const error = onlyError(withLines("resources:", "  lambda:", `    ${setting}`));
      expect(error.line).toBe(9);
      expect(`${error.message} ${error.fix}`).toContain(text);
    });

    it.each([0, 65])("rejects concurrency %i outside 1-64", (value) => {
      const error = onlyError(withLines("mirror:", "  concurrency:", `    transfers: ${value}`));
      expect(error).toMatchObject({ line: 9, col: 16 });
      expect(error.fix).toContain("use 1 to 64");
    });

    it("requires a channel when Slack is enabled and addresses when email is", () => {
      const errors = errorsOf(
        withLines("notifications:", "  slack:", "    enabled: true", "  email:", "    enabled: true"),
      );
      expect(errors.map((e) => [e.line, e.col, e.path])).toEqual([
        [8, 3, "notifications.slack.channel"],
        [10, 3, "notifications.email.addresses"],
      ]);
    });

    it("rejects an invalid environment name at the key", () => {
      const error = onlyError(
        withLines("  Prod_1:", "    aws_region: us-east-1", '    schedule_expression: "rate(1 day)"'),
      );
      expect(error).toMatchObject({ line: 7, col: 3, message: "environment name `Prod_1` is not valid" });
    });

    it("rejects an empty environments mapping", () => {
      const error = onlyError("project:\n  name: demo\nenvironments: {}\n");
      expect(error).toMatchObject({ line: 3, col: 1, message: "no environments are defined" });
    });
  });

  describe("loadConfig", () => {
    it("throws ConfigFileError for a missing file", async () => {
      const dir = await mkdtemp(join(tmpdir(), "hbsync-config-"));
      await expect(loadConfig("nope.yaml", { cwd: dir })).rejects.toBeInstanceOf(ConfigFileError);
    });

    it("checks that a trusted_key path exists relative to the config file", async () => {
      const dir = await mkdtemp(join(tmpdir(), "hbsync-config-"));
      await writeFile(
        join(dir, "config.yaml"),
        withLines("mirror:", "  upstream:", "    trusted_key: keys/mine.pem"),
      );
      const missing = await loadConfig("config.yaml", { cwd: dir });
      expect(missing.errors.map((e) => [e.line, e.col])).toEqual([[9, 18]]);
      await writeFile(join(dir, "mine.pem"), "-----BEGIN PUBLIC KEY-----\n");
      await writeFile(
        join(dir, "config.yaml"),
        withLines("mirror:", "  upstream:", "    trusted_key: mine.pem"),
      );
      expect((await loadConfig("config.yaml", { cwd: dir })).errors).toEqual([]);
    });
  });

  describe("loadConfigOrThrow", () => {
    it("returns the config and its warnings", async () => {
      const { config, warnings } = await loadConfigOrThrow(REPO_CONFIG.pathname);
      expect(config.project.name).toBe("homebrew-bottles-sync");
      expect(warnings).toEqual([]);
    });

    it("throws a usage-kind InvalidConfigError listing every diagnostic", async () => {
      const dir = await mkdtemp(join(tmpdir(), "hbsync-config-"));
      await writeFile(join(dir, "config.yaml"), withLines("    size_treshold_gb: 5", "    aws_regio: x"));
      const error = await loadConfigOrThrow("config.yaml", { cwd: dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).kind).toBe("usage");
      expect((error as InvalidConfigError).message).toContain("config.yaml is invalid (2 errors):");
      expect((error as InvalidConfigError).message).toContain(
        "config.yaml:7:5: error: unknown key `size_treshold_gb`",
      );
      expect((error as InvalidConfigError).message).toContain(
        "config.yaml:8:5: error: unknown key `aws_regio`",
      );
    });
  });
});
