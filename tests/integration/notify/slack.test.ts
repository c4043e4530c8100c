import { afterEach, describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../../../src/notify/events.ts";
import type { NotifyLogger } from "../../../src/notify/logger.ts";
import { NotificationManager } from "../../../src/notify/manager.ts";
import { sampleEvent } from "../../../src/notify/samples.ts";
import {
  ALLOWED_BLOCK_TYPES,
  SLACK_LIMITS,
  type SlackMessage,
  validateSlackMessage,
} from "../../../src/notify/slack-blocks.ts";
import { startConnectProxy } from "../../helpers/connect-proxy.ts";
import {
  deadEndpointUrl,
  SECRET_WEBHOOK_PATH,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../../helpers/webhook-receiver.ts";

function captureLogger(): NotifyLogger & { lines: string[] } {
  const lines: string[] = [];
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push(`${level} ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`);
  return { lines, info: write("info"), warn: write("warn"), error: write("error") };
}

function recordingSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

const SECRET_TOKEN = SECRET_WEBHOOK_PATH.split("/").at(-1) as string;

describe("notify/slack (against a local webhook receiver)", () => {
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  describe("behind an egress proxy", () => {
    it("posts through the CONNECT proxy HTTP_PROXY names (Node's own fetch would not)", async () => {
      receiver = await startWebhookReceiver();
      const proxy = await startConnectProxy();
      try {
        const manager = new NotificationManager({
          slack: { webhookUrl: receiver.webhookUrl, env: { HTTP_PROXY: proxy.url } },
          logger: captureLogger(),
        });

        const result = await manager.send(sampleEvent("test", "staging"));

        expect(result.channels).toEqual([{ channel: "slack", ok: true, attempts: 1 }]);
        expect(proxy.tunnels).toEqual([new URL(receiver.origin).host]);
        expect(receiver.requests).toHaveLength(1);
      } finally {
        await proxy.close();
      }
    });
  });

  describe("NotificationManager.send", () => {
    it("posts a valid Block Kit message for every event type", async () => {
      receiver = await startWebhookReceiver();
      const logger = captureLogger();
      const manager = new NotificationManager({
        slack: { webhookUrl: receiver.webhookUrl, channel: "#platform-updates" },
        logger,
      });

      for (const type of EVENT_TYPES) {
        const result = await manager.send(sampleEvent(type, "staging"));
        expect(result.channels).toEqual([{ channel: "slack", ok: true, attempts: 1 }]);
      }

      expect(receiver.requests).toHaveLength(EVENT_TYPES.length);
      for (const request of receiver.requests) {
        expect(request.method).toBe("POST");
        expect(request.path).toBe(SECRET_WEBHOOK_PATH);
        expect(request.headers["content-type"]).toBe("application/json");
        const payload = request.json as SlackMessage & { channel?: string };
        expect(payload.channel).toBe("#platform-updates");
        expect(payload.blocks.length).toBeGreaterThan(0);
        expect(payload.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
        for (const block of payload.blocks) expect(ALLOWED_BLOCK_TYPES.has(block.type)).toBe(true);
        expect(validateSlackMessage(payload)).toEqual([]);
      }
      const headers = receiver.requests.map((request) => {
        const header = (request.json as SlackMessage).blocks[0];
        return header?.type === "header" ? header.text.text : "";
      });
      expect(headers).toContain(":white_check_mark: Deployed v1.4.0 to staging");
      expect(headers).toContain(":warning: Sync partial on staging: 37 new bottles");
    });

    it("truncates a long failure list in what reaches the receiver", async () => {
      receiver = await startWebhookReceiver();
      const manager = new NotificationManager({
        slack: { webhookUrl: receiver.webhookUrl },
        logger: captureLogger(),
      });
      const failures = Array.from({ length: 2000 }, (_, i) => ({
        key: `bottles/f${i}.tar.gz`,
        message: "timeout",
      }));

      await manager.send({ ...sampleEvent("sync_summary", "prod"), failures } as never);

      const payload = receiver.requests[0]?.json as SlackMessage;
      expect(validateSlackMessage(payload)).toEqual([]);
      const texts = payload.blocks.flatMap((block) =>
        block.type === "section" && block.text ? [block.text.text] : [],
      );
      const shown = texts
        .join("\n")
        .split("\n")
        .filter((line) => line.startsWith("• ")).length;
      expect(texts.join("\n")).toContain(`…and ${2000 - shown} more`);
    });

    it("retries a 429 after the Retry-After the receiver asked for", async () => {
      receiver = await startWebhookReceiver({ failFirst: 2, failStatus: 429, retryAfter: 3 });
      const { waits, sleep } = recordingSleep();
      const manager = new NotificationManager({
        slack: { webhookUrl: receiver.webhookUrl },
        logger: captureLogger(),
        retry: { sleep, random: () => 0 },
      });

      const result = await manager.send(sampleEvent("deployment_success", "prod"));

      expect(result.channels).toEqual([{ channel: "slack", ok: true, attempts: 3 }]);
      expect(waits).toEqual([3000, 3000]);
      expect(receiver.requests).toHaveLength(3);
    });

    it("retries a 500 with exponential backoff", async () => {
      receiver = await startWebhookReceiver({ failFirst: 2, failStatus: 500 });
      const { waits, sleep } = recordingSleep();
      const manager = new NotificationManager({
        slack: { webhookUrl: receiver.webhookUrl },
        logger: captureLogger(),
        retry: { sleep, random: () => 0.999 },
      });

      const result = await manager.send(sampleEvent("test_results"));

      expect(result.channels[0]).toMatchObject({ ok: true, attempts: 3 });
      expect(waits).toEqual([499, 999]); // full jitter, floored: 0.999 × 500, 0.999 × 1000
    });

    it("does not retry a 400 and reports Slack's answer", async () => {
      receiver = await startWebhookReceiver({ failFirst: 5, failStatus: 400, failBody: "invalid_blocks" });
      const manager = new NotificationManager({
        slack: { webhookUrl: receiver.webhookUrl },
        logger: captureLogger(),
        retry: { sleep: async () => {} },
      });

      const result = await manager.send(sampleEvent("up_to_date"));

      expect(result.channels[0]).toMatchObject({ ok: false, attempts: 1, status: 400 });
      expect(result.channels[0]?.error).toBe(
        `Slack webhook ${receiver.origin}/*** answered HTTP 400 (invalid_blocks)`,
      );
    });

    it("reports a dead endpoint without throwing and without printing the webhook path", async () => {
      const url = await deadEndpointUrl();
      const logger = captureLogger();
      const { waits, sleep } = recordingSleep();
      const manager = new NotificationManager({ slack: { webhookUrl: url }, logger, retry: { sleep } });

      const result = await manager.sendDeploymentFailure("prod", "apply failed");

      expect(result.ok).toBe(false);
      expect(result.channels[0]).toMatchObject({ channel: "slack", ok: false, attempts: 4 });
      expect(result.channels[0]?.error).toMatch(
        /could not reach the Slack webhook http:\/\/127\.0\.0\.1:\d+\/\*\*\*: fetch failed \(ECONNREFUSED\)/,
      );
      expect(waits).toHaveLength(3);
      const everything = [...logger.lines, JSON.stringify(result)].join("\n");
      expect(everything).not.toContain(SECRET_TOKEN);
      expect(everything).not.toContain(SECRET_WEBHOOK_PATH);
      expect(logger.lines.filter((line) => line.startsWith("warn slack: attempt"))).toHaveLength(3);
    });

    it("gives up on a Retry-After longer than the limit and says so", async () => {
      receiver = await startWebhookReceiver({ failFirst: 1, failStatus: 429, retryAfter: 7200 });
      const { waits, sleep } = recordingSleep();
      const manager = new NotificationManager({
        slack: { webhookUrl: receiver.webhookUrl },
        logger: captureLogger(),
        retry: { sleep },
      });

      const result = await manager.send(sampleEvent("sync_started"));

      expect(waits).toEqual([]);
      expect(result.channels[0]?.error).toContain("asked to retry after 7200s");
    });

    it("keeps the webhook path out of every log line, even in messages that quote it", async () => {
      receiver = await startWebhookReceiver({
        failFirst: 1,
        failStatus: 503,
        failBody: `no route to ${SECRET_WEBHOOK_PATH}`,
      });
      const logger = captureLogger();
      const manager = new NotificationManager({
        slack: { webhookUrl: receiver.webhookUrl },
        logger,
        retry: { sleep: async () => {} },
      });

      const result = await manager.sendDeploymentFailure("dev", `webhook ${receiver.webhookUrl} refused`);

      expect(result.ok).toBe(true);
      expect(logger.lines.length).toBeGreaterThan(0);
      for (const line of logger.lines) expect(line).not.toContain(SECRET_TOKEN);
      // The event text itself was redacted before it was posted.
      expect(receiver.requests.at(-1)?.body).not.toContain(SECRET_TOKEN);
    });
  });
});
