import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../../src/config/diagnostics.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { errorsOf, onlyError, onlyWarning, withLines } from "./helpers.ts";

describe("config/load", () => {
  describe("parseConfig secrets", () => {
    // Secret-shaped test values are assembled from pieces so secret scanners do not flag this file.
    const slackUrl = [
      "https://hooks.slack.com",
      "services",
      "T00000000",
      "B00000000",
      "XXXXXXXXXXXXXXXXXXXXXXXX",
    ].join("/");
    const slackToken = ["xoxb", "1234567890", "abcdefghij"].join("-");
    const awsKey = ["AKIA", "IOSFODNN7EXAMPLE"].join("");
    const githubToken = ["ghp", "a".repeat(36)].join("_");
    const cases: Array<[string, string[], number, number, string]> = [
      [
        "a Slack webhook URL in a known key",
        ["notifications:", "  slack:", `    channel: "${slackUrl}"`],
        9,
        14,
        "SLACK_WEBHOOK_URL",
      ],
      [
        "a webhook_url key",
        ["notifications:", "  slack:", `    webhook_url: "${slackUrl}"`],
        9,
        18,
        "SLACK_WEBHOOK_SECRET_ARN",
      ],
      [
        "a Slack bot token",
        ["notifications:", "  slack:", `    channel: "${slackToken}"`],
        9,
        14,
        "SLACK_WEBHOOK_URL",
      ],
      ["an AWS access key", [`    access: ${awsKey}`], 7, 13, "OIDC role"],
      [
        "a GitHub token",
        ["mirror:", "  formulae:", `    include: [git, ${githubToken}]`],
        9,
        20,
        "GitHub Actions secrets",
      ],
      [
        "an SMTP password key",
        ["notifications:", "  email:", "    smtp_password: hunter22"],
        9,
        5,
        "SMTP_URL",
      ],
      [
        "an SMTP URL with credentials",
        ["notifications:", "  email:", '    server: "smtp://user:pa55@mail.example.com:587"'],
        9,
        13,
        "SMTP_URL",
      ],
      ["a token key", ["    api_token: abc123"], 7, 5, "environment variable"],
    ];

    it.each(cases)(
      "reports %s once, with where secrets go, never echoing it",
      (_name, lines, line, col, fixText) => {
        const text = withLines(...lines);
        const error = onlyError(text);
        expect(error).toMatchObject({ line, col });
        expect(error.message).toContain("secrets must not be stored in the config file");
        expect(error.fix).toContain(fixText);
        expect(error.fix).toMatch(/revoke|deactivate/);
        expect(formatDiagnostic(error)).not.toMatch(
          /XXXXXXXX|abcdefghij|IOSFODNN7|aaaaaaaaaa|hunter22|pa55|abc123/,
        );
      },
    );

    it("does not treat a Secrets Manager ARN as a secret", () => {
      const errors = errorsOf(
        withLines("    slack_webhook_secret_arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:x"),
      );
      expect(errors.map((e) => e.message)).toEqual([
        expect.stringContaining("unknown key `slack_webhook_secret_arn`"),
      ]);
    });
  });

  describe("parseConfig warnings", () => {
    const prod = (...lines: string[]): string => withLines("  prod:", "    aws_region: us-east-1", ...lines);

    it("warns about Spot in prod", () => {
      const warning = onlyWarning(
        prod('    schedule_expression: "rate(1 day)"', "    enable_fargate_spot: true"),
      );
      expect(warning).toMatchObject({ severity: "warning", line: 10, col: 26 });
      expect(warning.message).toContain("Fargate Spot in prod");
    });

    it("warns about a prod schedule more often than hourly, but not an hourly one", () => {
      const warning = onlyWarning(prod('    schedule_expression: "rate(30 minutes)"'));
      expect(warning).toMatchObject({ line: 9, col: 26 });
      expect(warning.message).toContain("every 30 minutes, more often than hourly");
      expect(parseConfig(prod('    schedule_expression: "rate(1 hour)"')).warnings).toEqual([]);
      // dev may run as often as it likes.
      expect(parseConfig(withLines()).warnings).toEqual([]);
    });

    it.each([64, 10241])("warns about Lambda memory of %i MB", (mb) => {
      const warning = onlyWarning(withLines("resources:", "  lambda:", `    sync_memory: ${mb}`));
      expect(warning).toMatchObject({ line: 9, col: 18 });
      expect(warning.message).toContain("outside what Lambda allows (128-10240 MB)");
    });

    it("warns when an upstream URL is not https (loopback excepted)", () => {
      const warning = onlyWarning(
        withLines("mirror:", "  upstream:", "    api: http://mirror.example.com/api"),
      );
      expect(warning).toMatchObject({ line: 9, col: 10, fix: "use https://mirror.example.com/api" });
      expect(
        parseConfig(withLines("mirror:", "  upstream:", "    api: http://127.0.0.1:8080/api")).warnings,
      ).toEqual([]);
    });
  });

  describe("parseConfig odd files", () => {
    it.each([
      ["an empty file", "", "the file is empty"],
      ["only comments", "# nothing here\n", "the file is empty"],
      ["a scalar", "hello\n", "not a single value"],
      ["a huge number", "1e308\n", "not a single value"],
      ["a list", "- project\n- environments\n", "not a list"],
    ])("reports %s as one error at 1:1", (_name, text, message) => {
      const error = onlyError(text);
      expect(error).toMatchObject({ line: 1, col: 1 });
      expect(error.message).toContain(message);
    });

    it("reports huge and infinite numbers in a known key", () => {
      const huge = onlyError(withLines("    size_threshold_gb: 1e308"));
      expect(huge.message).toBe("`environments.dev.size_threshold_gb` is too large: 1e+308");
      const inf = onlyError(withLines("    size_threshold_gb: .inf"));
      expect(inf.fix).toContain("finite number");
      const big = onlyError(withLines("mirror:", "  retention_days: 99999999999999999999"));
      expect(big.line).toBe(8);
    });

    it("reports unicode keys and values without failing", () => {
      const errors = errorsOf(withLines("    ŕéǵíóñ: 東京", "mirror:", "  tags: [🍺]"));
      expect(errors.map((e) => `${e.line}:${e.col}`)).toEqual(["7:5", "9:10"]);
    });

    it("reports several YAML documents, undefined aliases and alias bombs as errors", () => {
      const twoDocs = onlyError(`${withLines()}---\nproject: {}\n`);
      expect(twoDocs).toMatchObject({
        line: 7,
        message: "the file holds 2 YAML documents; a config file is one",
      });
      const alias = onlyError(withLines("    size_threshold_gb: *nowhere"));
      expect(alias).toMatchObject({ line: 7, col: 24 });
      expect(alias.message).toContain("Unresolved alias");
      const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
      for (let i = 0; i < 8; i++)
        bomb.push(
          `${"bcdefghij"[i]}: &${"bcdefghij"[i]} [${Array(10).fill(`*${"abcdefghij"[i]}`).join(", ")}]`,
        );
      expect(onlyError(`${bomb.join("\n")}\n`).message).toMatch(/YAML/);
    });

    it("reports a file over the size limit without parsing it", () => {
      const error = onlyError(`# ${"x".repeat(1024 * 1024)}\n`);
      expect(error.message).toContain("a config file is a few KB");
    });
  });
});
