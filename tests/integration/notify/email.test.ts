import { afterEach, describe, expect, it } from "vitest";
import { smtpTransport } from "../../../src/notify/email.ts";
import type { NotifyEvent } from "../../../src/notify/events.ts";
import { notificationManagerFromEnv } from "../../../src/notify/from-env.ts";
import type { NotifyLogger } from "../../../src/notify/logger.ts";
import { NotificationManager } from "../../../src/notify/manager.ts";
import { sampleEvent } from "../../../src/notify/samples.ts";
import { SMTP_TEST_PASSWORD, startSmtpServer, type TestSmtpServer } from "../../helpers/smtp.ts";

function captureLogger(): NotifyLogger & { lines: string[] } {
  const lines: string[] = [];
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push(`${level} ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`);
  return { lines, info: write("info"), warn: write("warn"), error: write("error") };
}

const config = {
  notifications: { email: { enabled: true, addresses: ["ops@example.com", "oncall@example.com"] } },
};

describe("notify/email (against smtp-server on loopback)", () => {
  let server: TestSmtpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  describe("NotificationManager.send", () => {
    it("delivers a text and an HTML body to every configured address", async () => {
      server = await startSmtpServer();
      const manager = await notificationManagerFromEnv(
        config,
        { SMTP_URL: server.url, NOTIFY_EMAIL_FROM: "hbsync@example.com" },
        { logger: captureLogger() },
      );

      const result = await manager.send(sampleEvent("deployment_success", "prod"));
      manager.close();

      expect(result.channels).toEqual([{ channel: "email", ok: true, attempts: 1 }]);
      expect(server.logins).toEqual([{ username: "notify", accepted: true }]);
      expect(server.messages).toHaveLength(1);
      const [mail] = server.messages;
      expect(mail?.from).toBe("hbsync@example.com");
      expect(mail?.to).toEqual(["ops@example.com", "oncall@example.com"]);
      expect(mail?.subject).toBe("[hbsync prod] Deployed v1.4.0 to prod");
      expect(mail?.text).toContain("Version:      v1.4.0");
      expect(mail?.text).toContain(
        "View run: https://github.com/example-org/homebrew-bottles-sync/actions/runs/123456789",
      );
      expect(mail?.html).toContain(
        '<th style="text-align:left;padding:2px 12px 2px 0">Commit</th><td>3f9c2e1a7b5d</td>',
      );
    });

    it("escapes HTML in values that reach the mailbox", async () => {
      server = await startSmtpServer();
      const manager = await notificationManagerFromEnv(
        config,
        { SMTP_URL: server.url, NOTIFY_EMAIL_FROM: "hbsync@example.com" },
        { logger: captureLogger() },
      );
      const event: NotifyEvent = {
        type: "deployment_failure",
        environment: "dev",
        error: "<b>boom</b> & more",
      };

      await manager.send(event);
      manager.close();

      expect(server.messages[0]?.html).toContain("&lt;b&gt;boom&lt;/b&gt; &amp; more");
      expect(server.messages[0]?.text).toContain("<b>boom</b> & more");
    });

    it("retries a 421 from the server", async () => {
      server = await startSmtpServer({ rejectFirst: 1 });
      const waits: number[] = [];
      const manager = await notificationManagerFromEnv(
        config,
        { SMTP_URL: server.url, NOTIFY_EMAIL_FROM: "hbsync@example.com" },
        { logger: captureLogger(), retry: { sleep: async (ms) => void waits.push(ms), random: () => 0 } },
      );

      const result = await manager.send(sampleEvent("weekly_report", "prod"));
      manager.close();

      expect(result.channels).toEqual([{ channel: "email", ok: true, attempts: 2 }]);
      expect(waits).toEqual([0]);
      expect(server.messages).toHaveLength(1);
    });

    it("reports a rejected login without the password in any log line or error", async () => {
      server = await startSmtpServer({ pass: "the-server-wants-this-one" });
      const logger = captureLogger();
      const manager = await notificationManagerFromEnv(
        config,
        {
          SMTP_URL: server.url.replace("the-server-wants-this-one", SMTP_TEST_PASSWORD),
          NOTIFY_EMAIL_FROM: "a@example.com",
        },
        { logger, retry: { sleep: async () => {} } },
      );

      const result = await manager.send(sampleEvent("sync_summary", "prod"));
      manager.close();

      expect(result.ok).toBe(false);
      expect(result.channels[0]).toMatchObject({ channel: "email", ok: false, attempts: 1, status: 535 });
      expect(result.channels[0]?.error).toMatch(/^could not send email: Invalid login/);
      const everything = [
        ...logger.lines,
        JSON.stringify(result),
        JSON.stringify(manager.channelStatus),
      ].join("\n");
      expect(everything).not.toContain(SMTP_TEST_PASSWORD);
      expect(everything).not.toContain(encodeURIComponent(SMTP_TEST_PASSWORD));
      expect(server.logins).toEqual([{ username: "notify", accepted: false }]);
    });

    it("reports a server that is not there without throwing", async () => {
      server = await startSmtpServer();
      const url = server.url;
      await server.close();
      server = undefined;
      const setup = smtpTransport(url);
      if ("reason" in setup) throw new Error(setup.reason);
      const manager = new NotificationManager({
        email: {
          transport: setup.transport,
          from: "a@example.com",
          to: ["b@example.com"],
          secrets: setup.secrets,
        },
        logger: captureLogger(),
        retry: { sleep: async () => {} },
      });

      const result = await manager.send(sampleEvent("up_to_date"));

      expect(result.channels[0]).toMatchObject({ channel: "email", ok: false, attempts: 4 });
      expect(result.channels[0]?.error).toContain("ECONNREFUSED");
      expect(result.channels[0]?.error).not.toContain(SMTP_TEST_PASSWORD);
    });
  });
});
