import { describeEvent, type EventSummary } from "./describe.ts";
import type { NotifyEvent } from "./events.ts";

/**
 * Block Kit messages for Slack incoming webhooks. Only the block types below are produced, and every
 * text respects Slack's documented limits (docs.slack.dev/reference/block-kit): a message holds at most
 * 50 blocks; a header's plain_text at most 150 characters; a section's text at most 3,000; a section has
 * at most 10 fields of at most 2,000 characters each; a context at most 10 elements; a button's text at
 * most 75 characters and its url at most 3,000. Long lists end with "…and N more".
 */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  headerText: 150,
  sectionText: 3000,
  fieldsPerSection: 10,
  fieldText: 2000,
  contextElements: 10,
  contextText: 3000,
  buttonText: 75,
  buttonUrl: 3000,
} as const;

/** A long list gets at most this many sections: Slack also rejects messages whose blocks are too long in total. */
export const MAX_LIST_SECTIONS = 2;
/** One list item (a failed test name, a key and its error) is cut to this many characters. */
export const MAX_LIST_ITEM = 400;

export interface PlainText {
  type: "plain_text";
  text: string;
  emoji?: boolean;
}
export interface Mrkdwn {
  type: "mrkdwn";
  text: string;
}
export interface ButtonElement {
  type: "button";
  text: PlainText;
  url: string;
  action_id: string;
}
export type SlackBlock =
  | { type: "header"; text: PlainText }
  | { type: "section"; text: Mrkdwn; fields?: Mrkdwn[] }
  | { type: "section"; text?: Mrkdwn; fields: Mrkdwn[] }
  | { type: "context"; elements: Mrkdwn[] }
  | { type: "divider" }
  | { type: "actions"; elements: ButtonElement[] };

export interface SlackMessage {
  /** Fallback text: shown in notifications and by clients that cannot render blocks. */
  text: string;
  blocks: SlackBlock[];
}

export const ALLOWED_BLOCK_TYPES: ReadonlySet<string> = new Set([
  "header",
  "section",
  "context",
  "divider",
  "actions",
]);

export function buildSlackMessage(event: NotifyEvent): SlackMessage {
  return renderSummary(describeEvent(event));
}

export function renderSummary(summary: EventSummary): SlackMessage {
  const blocks: SlackBlock[] = [
    {
      type: "header",
      text: {
        type: "plain_text",
        text: truncate(`${summary.emoji} ${summary.title}`, SLACK_LIMITS.headerText),
        emoji: true,
      },
    },
  ];
  for (let i = 0; i < summary.facts.length; i += SLACK_LIMITS.fieldsPerSection) {
    const fields = summary.facts.slice(i, i + SLACK_LIMITS.fieldsPerSection).map(([label, value]) => ({
      type: "mrkdwn" as const,
      text: truncate(`*${escapeMrkdwn(label)}*\n${escapeMrkdwn(value)}`, SLACK_LIMITS.fieldText),
    }));
    blocks.push({ type: "section", fields });
  }
  if (summary.detail) {
    const head = `*${escapeMrkdwn(summary.detail.title)}*\n`;
    const body = escapeMrkdwn(summary.detail.text).replaceAll("```", "'''");
    // 8 = the two ``` fences and their newlines.
    const room = SLACK_LIMITS.sectionText - head.length - 8;
    blocks.push({ type: "section", text: mrkdwn(`${head}\`\`\`\n${truncate(body, room)}\n\`\`\``) });
  }
  if (summary.list && summary.list.items.length > 0) {
    blocks.push({ type: "divider" });
    for (const text of packList(summary.list.title, summary.list.items)) {
      blocks.push({ type: "section", text: mrkdwn(text) });
    }
  }
  if (summary.link) {
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: truncate(summary.link.label, SLACK_LIMITS.buttonText) },
          url: summary.link.url,
          action_id: "open_run",
        },
      ],
    });
  }
  blocks.push({ type: "divider" });
  blocks.push({
    type: "context",
    elements: [mrkdwn(truncate(escapeMrkdwn(summary.footer), SLACK_LIMITS.contextText))],
  });
  return { text: truncate(summary.title, SLACK_LIMITS.sectionText), blocks: capBlocks(blocks) };
}

/**
 * Packs list items into at most MAX_LIST_SECTIONS section texts of ≤ 3,000 characters each; items that
 * do not fit are counted in a closing "…and N more" line.
 */
export function packList(title: string, items: readonly string[]): string[] {
  const reserve = 32; // room for "\n…and 1234567 more"
  const limit = SLACK_LIMITS.sectionText - reserve;
  const sections: string[] = [];
  let current = `*${escapeMrkdwn(title)}*`;
  let shown = 0;
  for (const item of items) {
    const line = `• ${truncate(escapeMrkdwn(item), MAX_LIST_ITEM)}`;
    if (current.length + 1 + line.length <= limit) {
      current += `\n${line}`;
    } else if (sections.length + 1 < MAX_LIST_SECTIONS) {
      sections.push(current);
      current = line;
    } else {
      break;
    }
    shown += 1;
  }
  const hidden = items.length - shown;
  if (hidden > 0) current += `\n…and ${hidden} more`;
  sections.push(current);
  return sections;
}

/** Problems with a message against Slack's limits and the block types we allow; [] when it is valid. */
export function validateSlackMessage(message: SlackMessage): string[] {
  const problems: string[] = [];
  if (message.blocks.length > SLACK_LIMITS.blocksPerMessage) {
    problems.push(`${message.blocks.length} blocks (max ${SLACK_LIMITS.blocksPerMessage})`);
  }
  const check = (where: string, text: string | undefined, max: number): void => {
    if (text === undefined || text.length === 0) problems.push(`${where}: empty text`);
    else if (text.length > max) problems.push(`${where}: ${text.length} characters (max ${max})`);
  };
  message.blocks.forEach((block, index) => {
    const where = `blocks[${index}] (${block.type})`;
    if (!ALLOWED_BLOCK_TYPES.has(block.type)) {
      problems.push(`${where}: block type not allowed`);
      return;
    }
    switch (block.type) {
      case "header":
        if (block.text.type !== "plain_text") problems.push(`${where}: header text must be plain_text`);
        check(where, block.text.text, SLACK_LIMITS.headerText);
        break;
      case "section":
        if (!block.text && !block.fields) problems.push(`${where}: needs text or fields`);
        if (block.text) check(where, block.text.text, SLACK_LIMITS.sectionText);
        if (block.fields && block.fields.length > SLACK_LIMITS.fieldsPerSection) {
          problems.push(`${where}: ${block.fields.length} fields (max ${SLACK_LIMITS.fieldsPerSection})`);
        }
        block.fields?.forEach((field, i) =>
          check(`${where}.fields[${i}]`, field.text, SLACK_LIMITS.fieldText),
        );
        break;
      case "context":
        if (block.elements.length === 0 || block.elements.length > SLACK_LIMITS.contextElements) {
          problems.push(`${where}: ${block.elements.length} elements (1..${SLACK_LIMITS.contextElements})`);
        }
        block.elements.forEach((element, i) =>
          check(`${where}.elements[${i}]`, element.text, SLACK_LIMITS.contextText),
        );
        break;
      case "actions":
        for (const [i, element] of block.elements.entries()) {
          check(`${where}.elements[${i}].text`, element.text.text, SLACK_LIMITS.buttonText);
          check(`${where}.elements[${i}].url`, element.url, SLACK_LIMITS.buttonUrl);
        }
        break;
      case "divider":
        break;
    }
  });
  return problems;
}

/** Slack mrkdwn control characters: &, < and > must be escaped in any text. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Cuts `text` to at most `max` characters, ending with "…" when cut; never splits a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}

function mrkdwn(text: string): Mrkdwn {
  return { type: "mrkdwn", text };
}

function capBlocks(blocks: SlackBlock[]): SlackBlock[] {
  if (blocks.length <= SLACK_LIMITS.blocksPerMessage) return blocks;
  const kept = blocks.slice(0, SLACK_LIMITS.blocksPerMessage - 1);
  const omitted = blocks.length - kept.length;
  kept.push({ type: "context", elements: [mrkdwn(`…and ${omitted} more blocks`)] });
  return kept;
}
