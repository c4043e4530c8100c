import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { mockClient } from "aws-sdk-client-mock";
import type { SendMailOptions } from "nodemailer";
import { afterEach, describe, expect, it } from "vitest";
import type { MailTransport } from "../../../src/notify/email.ts";
import type { NotifyEvent } from "../../../src/notify/events.ts";
import { notificationManagerFromEnv, webhookFromSecret } from "../../../src/notify/from-env.ts";
import type { NotifyLogger } from "../../../src/notify/logger.ts";
import { NotificationManager } from "../../../src/notify/manager.ts";

function captureLogger(): NotifyLogger & { lines: string[] } {
  const lines: string[] = [];
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push(`${level} ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`);
  return { lines, info: write("info"), warn: write("warn"), error: write("error") };
}

function fakeTransport(behaviour: (options: SendMailOptions) => Promise<unknown>): MailTransport & {
  sent: SendMailOptions[];
} {
  const sent: SendMailOptions[] = [];
  return {
    sent,
    sendMail: async (options) => {
      sent.push(options);
      return behaviour(options);
    },
  };
}

const noSleep = { sleep: async () => {}, random: () => 0 };

describe("notify/manager", () => {
  describe("NotificationManager.send", () => {
    it("reports a failing channel in the result and the log instead of throwing", async () => {
      const logger = captureLogger();
      const transport = fakeTransport(async () => {
        throw Object.assign(new Error("Invalid login: 535 Authentication failed"), { responseCode: 535 });
      });
      const manager = new NotificationManager({
        email: { transport, from: "hbsync@example.com", to: ["ops@example.com"] },
        logger,
        retry: noSleep,
      });

      const result = await manager.sendDeploymentFailure("prod", new Error("terraform apply failed"));

      expect(result.ok).toBe(false);
      expect(result.channels).toEqual([
        {
          channel: "email",
          ok: false,
          attempts: 1,
          status: 535,
          error: "could not send email: Invalid login: 535 Authentication failed",
        },
      ]);
      expect(
        logger.lines.some((line) => line.startsWith("warn email: failed to send deployment_failure")),
      ).toBe(true);
    });

    it("retries transient SMTP replies and counts the attempts", async () => {
      let calls = 0;
      const transport = fakeTransport(async () => {
        calls += 1;
        if (calls === 1) throw Object.assign(new Error("421 try again later"), { responseCode: 421 });
        return { messageId: "<1@x>" };
      });
      const manager = new NotificationManager({
        email: { transport, from: "hbsync@example.com", to: ["ops@example.com"] },
        logger: captureLogger(),
        retry: noSleep,
      });
      const result = await manager.sendTestResults({
        passed: 3,
        failed: 0,
        skipped: 0,
        failedTests: [],
        durationSeconds: 2,
      });
      expect(result.channels).toEqual([{ channel: "email", ok: true, attempts: 2 }]);
    });

    it("reports an invalid event without sending or throwing", async () => {
      const transport = fakeTransport(async () => ({}));
      const manager = new NotificationManager({
        email: { transport, from: "a@example.com", to: ["b@example.com"] },
        logger: captureLogger(),
      });
      const result = await manager.send({
        type: "weekly_report",
        environment: "dev",
        runs: -1,
      } as NotifyEvent);
      expect(result.ok).toBe(false);
      expect(result.error).toContain('"runs"');
      expect(transport.sent).toHaveLength(0);
    });

    it("masks secrets inside the event before it leaves the process", async () => {
      const transport = fakeTransport(async () => ({}));
      const manager = new NotificationManager({
        email: { transport, from: "a@example.com", to: ["b@example.com"] },
        logger: captureLogger(),
      });
      await manager.sendDeploymentFailure("dev", "push failed with ghp_abcdefghijklmnopqrstuvwxyz0123456789");
      expect(String(transport.sent[0]?.text)).toContain("ghp_***");
      expect(String(transport.sent[0]?.text)).not.toContain("abcdefghijklmnopqrstuvwxyz0123456789");
    });

    it("sends nothing and succeeds when no channel is enabled", async () => {
      const manager = new NotificationManager({ logger: captureLogger() });
      const result = await manager.sendDeploymentSuccess("dev", {
        version: "v1",
        durationSeconds: 1,
        commit: "abc",
      });
      expect(result).toEqual({ event: "deployment_success", ok: true, channels: [] });
    });
  });

  describe("notificationManagerFromEnv", () => {
    const config = {
      notifications: {
        slack: { enabled: true, channel: "#ops" },
        email: { enabled: true, addresses: ["ops@example.com"] },
      },
    };
    const secretsManager = mockClient(SecretsManagerClient);
    afterEach(() => secretsManager.reset());

    it("says why each enabled channel cannot be used", async () => {
      const logger = captureLogger();
      const manager = await notificationManagerFromEnv(config, {}, { logger });
      expect(manager.enabledChannels).toEqual([]);
      expect(manager.channelStatus).toEqual([
        {
          channel: "slack",
          enabled: false,
          reason: "enabled in config but SLACK_WEBHOOK_URL is not set (nor SLACK_WEBHOOK_SECRET_ARN)",
        },
        { channel: "email", enabled: false, reason: "enabled in config but NOTIFY_EMAIL_FROM is not set" },
      ]);
    });

    it("says a channel is disabled in config", async () => {
      const manager = await notificationManagerFromEnv(
        { notifications: { slack: { enabled: false }, email: { enabled: false } } },
        { SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0AAAA/B0BBBB/cccccccc" },
        { logger: captureLogger() },
      );
      expect(manager.channelStatus.map((status) => status.reason)).toEqual([
        "disabled in config (notifications.slack.enabled)",
        "disabled in config (notifications.email.enabled)",
      ]);
    });

    it("enables both channels from the environment without printing the secrets", async () => {
      const manager = await notificationManagerFromEnv(
        config,
        {
          SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0AAAA/B0BBBB/cccccccccccc",
          SMTP_URL: "smtp://mailer:Pa55-w0rd-secret@127.0.0.1:2525",
          NOTIFY_EMAIL_FROM: "hbsync@example.com",
        },
        { logger: captureLogger() },
      );
      expect(manager.enabledChannels).toEqual(["slack", "email"]);
      const reasons = manager.channelStatus.map((status) => status.reason).join("\n");
      expect(reasons).toContain("webhook https://hooks.slack.com/*** from SLACK_WEBHOOK_URL, channel #ops");
      expect(reasons).toContain(
        "smtp://mailer:***@127.0.0.1:2525, from hbsync@example.com, to ops@example.com",
      );
      expect(reasons).not.toContain("cccccccccccc");
      expect(reasons).not.toContain("Pa55-w0rd-secret");
      manager.close();
    });

    it("reads the webhook URL from Secrets Manager when SLACK_WEBHOOK_SECRET_ARN is set", async () => {
      // Proves the GetSecretValue request names the ARN and a JSON secret is unwrapped; no local Secrets Manager exists.
      const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hbsync/slack-AbCdEf";
      secretsManager.on(GetSecretValueCommand, { SecretId: arn }).resolves({
        SecretString: '{"webhook_url":"https://hooks.slack.com/services/T0AAAA/B0BBBB/dddddddd"}',
      });
      const manager = await notificationManagerFromEnv(
        { notifications: { slack: { enabled: true } } },
        { SLACK_WEBHOOK_SECRET_ARN: arn },
        { logger: captureLogger(), secretsManager: new SecretsManagerClient({ region: "us-east-1" }) },
      );
      expect(manager.enabledChannels).toEqual(["slack"]);
      expect(manager.channelStatus[0]?.reason).toBe(
        `enabled: webhook https://hooks.slack.com/*** from Secrets Manager (${arn})`,
      );
      expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    });

    it("disables Slack and says why when the secret cannot be read", async () => {
      const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hbsync/slack-AbCdEf";
      secretsManager
        .on(GetSecretValueCommand)
        .rejects(Object.assign(new Error("User is not authorized"), { name: "AccessDeniedException" }));
      const manager = await notificationManagerFromEnv(
        { notifications: { slack: { enabled: true } } },
        { SLACK_WEBHOOK_SECRET_ARN: arn },
        { logger: captureLogger(), secretsManager: new SecretsManagerClient({ region: "us-east-1" }) },
      );
      expect(manager.enabledChannels).toEqual([]);
      expect(manager.channelStatus[0]?.reason).toBe(
        `enabled in config but the secret ${arn} could not be read (AccessDeniedException: User is not authorized)`,
      );
    });

    it("sends through SES when NOTIFY_EMAIL_TRANSPORT=ses and SMTP_URL is unset", async () => {
      // Proves nodemailer's SES transport is wired to an SESv2 SendEmail call with the raw MIME message;
      // there is no local SES to send to.
      const ses = mockClient(SESv2Client);
      ses.on(SendEmailCommand).resolves({ MessageId: "0100-abc" });
      try {
        const manager = await notificationManagerFromEnv(
          { notifications: { email: { enabled: true, addresses: ["ops@example.com"] } } },
          { NOTIFY_EMAIL_TRANSPORT: "ses", NOTIFY_EMAIL_FROM: "hbsync@example.com" },
          { logger: captureLogger(), sesClient: new SESv2Client({ region: "us-east-1" }) },
        );
        expect(manager.channelStatus[1]?.reason).toBe(
          "enabled: Amazon SES (SESv2), from hbsync@example.com, to ops@example.com",
        );

        const result = await manager.send({ type: "test", environment: "dev" });

        expect(result.channels).toEqual([{ channel: "email", ok: true, attempts: 1 }]);
        const [call] = ses.commandCalls(SendEmailCommand);
        const raw = Buffer.from(call?.args[0].input.Content?.Raw?.Data ?? new Uint8Array()).toString("utf8");
        expect(raw).toContain("Subject: [hbsync dev] Test notification from hbsync (dev)");
        expect(raw).toContain("To: ops@example.com");
      } finally {
        ses.restore();
      }
    });
  });

  describe("webhookFromSecret", () => {
    it("accepts the URL itself or JSON holding it", () => {
      expect(webhookFromSecret(" https://hooks.slack.com/x ")).toBe("https://hooks.slack.com/x");
      expect(webhookFromSecret('{"url":"https://hooks.slack.com/y"}')).toBe("https://hooks.slack.com/y");
      expect(webhookFromSecret('{"other":1}')).toBeUndefined();
      expect(webhookFromSecret(undefined)).toBeUndefined();
    });
  });
});
