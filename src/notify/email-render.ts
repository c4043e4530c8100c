import { describeEvent, type EventSummary } from "./describe.ts";
import type { NotifyEvent } from "./events.ts";

/** The plain-text and HTML bodies of one event; the HTML escapes every value. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** An email can hold a longer list than a Slack message, but not an unbounded one. */
export const MAX_EMAIL_LIST_ITEMS = 200;

const TONE_COLOURS = { good: "#2e7d32", warning: "#b26a00", bad: "#c62828", info: "#1565c0" } as const;

export function renderEmail(event: NotifyEvent): RenderedEmail {
  return renderEmailSummary(describeEvent(event), event.environment);
}

export function renderEmailSummary(summary: EventSummary, environment?: string): RenderedEmail {
  const subject = oneLine(`[hbsync${environment ? ` ${environment}` : ""}] ${summary.title}`);
  const shown = summary.list?.items.slice(0, MAX_EMAIL_LIST_ITEMS) ?? [];
  const hidden = (summary.list?.items.length ?? 0) - shown.length;
  return { subject, text: renderText(summary, shown, hidden), html: renderHtml(summary, shown, hidden) };
}

function renderText(summary: EventSummary, shown: string[], hidden: number): string {
  const width = Math.max(0, ...summary.facts.map(([label]) => label.length)) + 1;
  const lines = [summary.title, "=".repeat(Math.min(summary.title.length, 72)), ""];
  for (const [label, value] of summary.facts) lines.push(`${`${label}:`.padEnd(width)} ${value}`);
  if (summary.detail) lines.push("", `${summary.detail.title}:`, indent(summary.detail.text));
  if (summary.list && summary.list.items.length > 0) {
    lines.push("", `${summary.list.title}:`, ...shown.map((item) => `  - ${item}`));
    if (hidden > 0) lines.push(`  …and ${hidden} more`);
  }
  if (summary.link) lines.push("", `${summary.link.label}: ${summary.link.url}`);
  lines.push("", "-- ", summary.footer);
  return `${lines.join("\n")}\n`;
}

function renderHtml(summary: EventSummary, shown: string[], hidden: number): string {
  const colour = TONE_COLOURS[summary.tone];
  const parts: string[] = [
    "<!doctype html>",
    '<html><body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222">',
    `<h2 style="color:${colour};margin:0 0 12px">${escapeHtml(summary.title)}</h2>`,
    '<table style="border-collapse:collapse">',
    ...summary.facts.map(
      ([label, value]) =>
        `<tr><th style="text-align:left;padding:2px 12px 2px 0">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`,
    ),
    "</table>",
  ];
  if (summary.detail) {
    parts.push(
      `<h3>${escapeHtml(summary.detail.title)}</h3>`,
      `<pre style="background:#f6f8fa;padding:8px;white-space:pre-wrap">${escapeHtml(summary.detail.text)}</pre>`,
    );
  }
  if (summary.list && summary.list.items.length > 0) {
    parts.push(`<h3>${escapeHtml(summary.list.title)}</h3>`, "<ul>");
    for (const item of shown) parts.push(`<li><code>${escapeHtml(item)}</code></li>`);
    if (hidden > 0) parts.push(`<li>…and ${hidden} more</li>`);
    parts.push("</ul>");
  }
  if (summary.link) {
    parts.push(`<p><a href="${escapeHtml(summary.link.url)}">${escapeHtml(summary.link.label)}</a></p>`);
  }
  parts.push(`<p style="color:#777;font-size:12px">${escapeHtml(summary.footer)}</p>`, "</body></html>");
  return `${parts.join("\n")}\n`;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ").slice(0, 200);
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
