import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { run } from "../../../src/cli/cli.ts";
import { EXIT } from "../../../src/cli/exit-codes.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import type { SlackMessage } from "../../../src/notify/slack-blocks.ts";
import { SMTP_TEST_PASSWORD, startSmtpServer, type TestSmtpServer } from "../../helpers/smtp.ts";
import {
  SECRET_WEBHOOK_PATH,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../../helpers/webhook-receiver.ts";

const REPO_CONFIG = new URL("../../../config.yaml", import.meta.url);
const SECRET_TOKEN = SECRET_WEBHOOK_PATH.split("/").at(-1) as string;

/** The repository's config.yaml with its notifications section replaced. */
async function writeConfig(dir: string, notifications: unknown): Promise<string> {
  const document = parseDocument(await readFile(REPO_CONFIG, "utf8"));
  document.set("notifications", notifications);
  const path = join(dir, "config.yaml");
  await writeFile(path, document.toString());
  return path;
}

const BOTH_ENABLED = {
  slack: { enabled: true, channel: "#platform-updates" },
  email: { enabled: true, addresses: ["devops@example.com"] },
};

describe("cli notify (against a webhook receiver and smtp-server)", () => {
  let dir: string;
  let receiver: WebhookReceiver;
  let smtp: TestSmtpServer;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-notify-"));
    await writeConfig(dir, BOTH_ENABLED);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    smtp = await startSmtpServer();
    env = {
      SLACK_WEBHOOK_URL: receiver.webhookUrl,
      SMTP_URL: smtp.url,
      NOTIFY_EMAIL_FROM: "hbsync@example.com",
    };
  });
  afterEach(async () => {
    await receiver.close();
    await smtp.close();
  });

  function everything(output: ReturnType<typeof memoryOutput>): string {
    return [...output.stdout, ...output.stderr].join("\n");
  }

  describe("notify test", () => {
    it("sends a test message to each enabled channel and says so", async () => {
      const output = memoryOutput();

      const code = await run(["notify", "test", "--env", "dev"], output, { cwd: dir, env });

      expect(code).toBe(EXIT.OK);
      expect(receiver.requests).toHaveLength(1);
      const header = (receiver.requests[0]?.json as SlackMessage).blocks[0];
      expect(header?.type === "header" && header.text.text).toBe(
        ":wave: Test notification from hbsync (dev)",
      );
      expect(smtp.messages.map((mail) => mail.subject)).toEqual([
        "[hbsync dev] Test notification from hbsync (dev)",
      ]);
      expect(output.stdout[0]).toBe("notify test (dev)");
      expect(output.stdout[1]).toMatch(
        /^ {2}slack: sent \(1 attempt\) — enabled: webhook http:\/\/127\.0\.0\.1:\d+\/\*\*\* from SLACK_WEBHOOK_URL, channel #platform-updates$/,
      );
      expect(output.stdout[2]).toMatch(
        /^ {2}email: sent \(1 attempt\) — enabled: smtp:\/\/notify:\*\*\*@127\.0\.0\.1:\d+, from hbsync@example\.com, to devops@example\.com$/,
      );
      expect(everything(output)).not.toContain(SECRET_TOKEN);
      expect(everything(output)).not.toContain(SMTP_TEST_PASSWORD);
    });

    it("says why a channel enabled in config is not used", async () => {
      const output = memoryOutput();

      const code = await run(["notify", "test", "--env", "dev"], output, {
        cwd: dir,
        env: { SMTP_URL: smtp.url, NOTIFY_EMAIL_FROM: "hbsync@example.com" },
      });

      // Slack is meant to work (enabled) and cannot: the test of it failed.
      expect(code).toBe(EXIT.FAILED);
      expect(output.stdout).toContain(
        "  slack: not sent — enabled in config but SLACK_WEBHOOK_URL is not set (nor SLACK_WEBHOOK_SECRET_ARN)",
      );
      expect(output.stderr).toContain(
        "error: notify test: slack enabled in config.yaml but cannot send (see above)",
      );
      expect(smtp.messages).toHaveLength(1);
    });

    it("exits 1 when a channel fails to deliver, and when every channel does", async () => {
      await receiver.close();
      receiver = await startWebhookReceiver({ failFirst: 10, failStatus: 403, failBody: "invalid_token" });
      const slackFails = memoryOutput();
      const slackOnly = { ...env, SLACK_WEBHOOK_URL: receiver.webhookUrl };

      const one = await run(["notify", "test", "--env", "dev"], slackFails, { cwd: dir, env: slackOnly });

      expect(one).toBe(EXIT.FAILED);
      expect(slackFails.stderr).toContain("error: notify test: slack failed to deliver (see above)");
      expect(smtp.messages).toHaveLength(1);

      const bothFail = memoryOutput();
      const wrongPassword = smtp.url.replace(SMTP_TEST_PASSWORD, "wrong-password");
      const all = await run(["notify", "test", "--env", "dev", "--json"], bothFail, {
        cwd: dir,
        env: { ...slackOnly, SMTP_URL: wrongPassword },
      });

      expect(all).toBe(EXIT.FAILED);
      expect(JSON.parse(bothFail.stdout.join("\n"))).toMatchObject({ ok: false });
      expect(bothFail.stderr).toContain("error: notify test: slack and email failed to deliver (see above)");
      expect(everything(bothFail)).not.toContain("wrong-password");
    });

    it("says a channel is disabled in config", async () => {
      const other = await mkdtemp(join(tmpdir(), "hbsync-notify-"));
      try {
        await writeConfig(other, { slack: { enabled: false }, email: { enabled: false, addresses: [] } });
        const output = memoryOutput();

        const code = await run(["notify", "test", "--env", "dev"], output, { cwd: other, env });

        // Nothing is configured to be tested: a configuration problem, not a passed test.
        expect(code).toBe(EXIT.USAGE);
        expect(output.stderr[0]).toMatch(
          /^error: notify test: no notification channel can send \(slack: disabled/,
        );
        expect(output.stdout).toEqual([
          "notify test (dev)",
          "  slack: not sent — disabled in config (notifications.slack.enabled)",
          "  email: not sent — disabled in config (notifications.email.enabled)",
          "  no channel can send (see the reasons above): nothing was sent",
        ]);
        expect(receiver.requests).toHaveLength(0);
      } finally {
        await rm(other, { recursive: true, force: true });
      }
    });
  });

  describe("notify <event>", () => {
    it("sends deployment-success with --data to both channels and prints JSON with --json", async () => {
      const output = memoryOutput();
      const data = JSON.stringify({ version: "v2.0.0", durationSeconds: 75, commit: "abc1234" });

      const code = await run(
        ["notify", "deployment-success", "--env", "staging", "--data", data, "--json"],
        output,
        {
          cwd: dir,
          env,
        },
      );

      expect(code).toBe(EXIT.OK);
      const printed = JSON.parse(output.stdout.join("\n"));
      expect(printed).toMatchObject({
        event: "deployment_success",
        environment: "staging",
        ok: true,
        channels: [
          { channel: "slack", enabled: true, ok: true, attempts: 1 },
          { channel: "email", enabled: true, ok: true, attempts: 1 },
        ],
      });
      const payload = receiver.requests[0]?.json as SlackMessage;
      const fields = payload.blocks.flatMap((block) =>
        block.type === "section" ? (block.fields ?? []) : [],
      );
      expect(fields.map((field) => field.text)).toContain("*Version*\nv2.0.0");
      expect(smtp.messages[0]?.subject).toBe("[hbsync staging] Deployed v2.0.0 to staging");
      expect(smtp.messages[0]?.text).toContain("Duration:    1m 15s");
    });

    it("reads --data-file", async () => {
      await writeFile(
        join(dir, "tests.json"),
        JSON.stringify({ passed: 10, failed: 1, skipped: 0, failedTests: ["a › b"], durationSeconds: 4 }),
      );
      const output = memoryOutput();

      const code = await run(
        ["notify", "test_results", "--env", "dev", "--data-file", "tests.json"],
        output,
        {
          cwd: dir,
          env,
        },
      );

      expect(code).toBe(EXIT.OK);
      expect(smtp.messages[0]?.subject).toBe("[hbsync dev] Tests failed: 10/11 passed on dev");
    });

    it("exits 2 and names the missing field when --data is incomplete", async () => {
      const output = memoryOutput();

      const code = await run(
        ["notify", "deployment-success", "--env", "dev", "--data", '{"durationSeconds":1,"commit":"abc"}'],
        output,
        { cwd: dir, env },
      );

      expect(code).toBe(EXIT.USAGE);
      expect(output.stderr[0]).toBe('error: deployment_success data: "version" is missing (expected string)');
      expect(receiver.requests).toHaveLength(0);
    });

    it("exits 2 on an unknown event, and when an event has no data", async () => {
      const unknown = memoryOutput();
      expect(await run(["notify", "deploy-done", "--env", "dev"], unknown, { cwd: dir, env })).toBe(
        EXIT.USAGE,
      );
      expect(unknown.stderr[0]).toBe('error: unknown notification event "deploy-done"');

      const missing = memoryOutput();
      expect(await run(["notify", "sync-summary", "--env", "dev"], missing, { cwd: dir, env })).toBe(
        EXIT.USAGE,
      );
      expect(missing.stderr[0]).toContain("sync_summary needs its fields");
    });

    it("exits 0 and reports the failure when a channel cannot deliver", async () => {
      await receiver.close();
      receiver = await startWebhookReceiver({ failFirst: 10, failStatus: 403, failBody: "invalid_token" });
      const output = memoryOutput();

      const code = await run(
        ["notify", "deployment-failure", "--env", "prod", "--data", '{"error":"apply failed"}'],
        output,
        { cwd: dir, env: { ...env, SLACK_WEBHOOK_URL: receiver.webhookUrl } },
      );

      expect(code).toBe(EXIT.OK);
      expect(output.stdout.join("\n")).toMatch(
        /slack: FAILED after 1 attempt: Slack webhook http:\/\/127\.0\.0\.1:\d+\/\*\*\* answered HTTP 403 \(invalid_token\)/,
      );
      expect(output.stdout).toContain("  (a failed notification does not change the exit code)");
      expect(smtp.messages).toHaveLength(1);
      expect(everything(output)).not.toContain(SECRET_TOKEN);
    });
  });
});
