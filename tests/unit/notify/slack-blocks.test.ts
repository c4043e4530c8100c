import { describe, expect, it } from "vitest";
import { EVENT_TYPES, type NotifyEvent } from "../../../src/notify/events.ts";
import { sampleEvent } from "../../../src/notify/samples.ts";
import {
  ALLOWED_BLOCK_TYPES,
  buildSlackMessage,
  escapeMrkdwn,
  SLACK_LIMITS,
  type SlackMessage,
  truncate,
  validateSlackMessage,
} from "../../../src/notify/slack-blocks.ts";

function sectionTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block) => (block.type === "section" && block.text ? [block.text.text] : []));
}

function manyFailures(count: number): NotifyEvent {
  return {
    ...sampleEvent("sync_summary", "prod"),
    type: "sync_summary",
    status: "failed",
    failures: Array.from({ length: count }, (_, i) => ({
      key: `bottles/formula-${i}-1.0.arm64_sequoia.bottle.tar.gz`,
      message: `sha256 differs (expected ${"a".repeat(64)}, got ${"b".repeat(64)})`,
    })),
  } as NotifyEvent;
}

describe("notify/slack-blocks", () => {
  describe("buildSlackMessage", () => {
    it.each(EVENT_TYPES)("builds a valid Block Kit message for %s", (type) => {
      const message = buildSlackMessage(sampleEvent(type, "prod"));
      expect(validateSlackMessage(message)).toEqual([]);
      expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
      for (const block of message.blocks) expect(ALLOWED_BLOCK_TYPES.has(block.type)).toBe(true);
      const [header] = message.blocks;
      expect(header?.type).toBe("header");
      expect(message.blocks.at(-1)?.type).toBe("context");
      expect(message.text.length).toBeGreaterThan(0);
    });

    it("shows a deployment's facts as section fields and links the run with a button", () => {
      const message = buildSlackMessage(sampleEvent("deployment_success", "prod"));
      const fields = message.blocks.flatMap((block) =>
        block.type === "section" ? (block.fields ?? []) : [],
      );
      expect(fields.map((field) => field.text)).toEqual([
        "*Environment*\nprod",
        "*Version*\nv1.4.0",
        "*Duration*\n5m 12s",
        "*Commit*\n3f9c2e1a7b5d",
        "*Triggered by*\noctocat",
      ]);
      const actions = message.blocks.find((block) => block.type === "actions");
      expect(actions).toEqual({
        type: "actions",
        elements: [
          {
            type: "button",
            text: { type: "plain_text", text: "View run" },
            url: "https://github.com/example-org/homebrew-bottles-sync/actions/runs/123456789",
            action_id: "open_run",
          },
        ],
      });
    });

    it("truncates a long failure list to sections of at most 3,000 characters, with a count", () => {
      const event = manyFailures(5000);
      const message = buildSlackMessage(event);
      expect(validateSlackMessage(message)).toEqual([]);
      expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
      const texts = sectionTexts(message);
      for (const text of texts) expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      const shown = texts
        .join("\n")
        .split("\n")
        .filter((line) => line.startsWith("• ")).length;
      const more = /…and (\d+) more/.exec(texts.join("\n"));
      expect(shown).toBeGreaterThan(0);
      expect(Number(more?.[1])).toBe(5000 - shown);
    });

    it("shows every item of a short list and no count", () => {
      const message = buildSlackMessage(manyFailures(3));
      const text = sectionTexts(message).join("\n");
      expect(text.split("\n").filter((line) => line.startsWith("• "))).toHaveLength(3);
      expect(text).not.toContain("more");
    });

    it("truncates the failed tests of a test run the same way", () => {
      const failedTests = Array.from(
        { length: 900 },
        (_, i) => `suite ${i} › ${"does something ".repeat(8)}`,
      );
      const event = { ...sampleEvent("test_results"), failed: 900, failedTests } as NotifyEvent;
      const message = buildSlackMessage(event);
      expect(validateSlackMessage(message)).toEqual([]);
      expect(sectionTexts(message).join("\n")).toMatch(/…and \d+ more$/);
    });

    it("cuts a long error to fit one section", () => {
      const event: NotifyEvent = {
        type: "deployment_failure",
        environment: "dev",
        error: "x".repeat(10_000),
      };
      const message = buildSlackMessage(event);
      expect(validateSlackMessage(message)).toEqual([]);
      const errorText = sectionTexts(message).find((text) => text.startsWith("*Error*"));
      expect(errorText?.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect(errorText).toContain("…");
    });

    it("cuts a long header to 150 characters", () => {
      const event = { ...sampleEvent("deployment_success"), version: "v".repeat(400) } as NotifyEvent;
      const [header] = buildSlackMessage(event).blocks;
      expect(header?.type === "header" && header.text.text.length).toBe(SLACK_LIMITS.headerText);
    });

    it("escapes mrkdwn control characters in values", () => {
      const event: NotifyEvent = {
        type: "deployment_failure",
        environment: "dev",
        error: "<!channel> & <@U123>",
      };
      const text = sectionTexts(buildSlackMessage(event)).join("\n");
      expect(text).toContain("&lt;!channel&gt; &amp; &lt;@U123&gt;");
      expect(text).not.toContain("<!channel>");
    });
  });

  describe("validateSlackMessage", () => {
    it("reports too many blocks, over-long texts and unknown block types", () => {
      const message = {
        text: "x",
        blocks: [
          { type: "header", text: { type: "plain_text", text: "h".repeat(151) } },
          { type: "section", text: { type: "mrkdwn", text: "s".repeat(3001) } },
          { type: "image" },
          ...Array.from({ length: 50 }, () => ({ type: "divider" })),
        ],
      } as unknown as SlackMessage;
      const problems = validateSlackMessage(message);
      expect(problems).toContain("53 blocks (max 50)");
      expect(problems).toContain("blocks[0] (header): 151 characters (max 150)");
      expect(problems).toContain("blocks[1] (section): 3001 characters (max 3000)");
      expect(problems).toContain("blocks[2] (image): block type not allowed");
    });
  });

  describe("truncate", () => {
    it("keeps short text and ends cut text with an ellipsis within the limit", () => {
      expect(truncate("abc", 3)).toBe("abc");
      expect(truncate("abcdef", 4)).toBe("abc…");
    });

    it("never splits a surrogate pair", () => {
      expect(truncate("ab😀cd", 4)).toBe("ab…");
    });
  });

  describe("escapeMrkdwn", () => {
    it("escapes &, < and >", () => {
      expect(escapeMrkdwn("a<b>&c")).toBe("a&lt;b&gt;&amp;c");
    });
  });
});
