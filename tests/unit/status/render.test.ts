import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { niceBytes, niceCount } from "../../../src/status/charts.ts";
import { escapeHtml, humanBytes, humanDuration } from "../../../src/status/format.ts";
import { collectStatus } from "../../../src/status/model.ts";
import { renderStatusPage } from "../../../src/status/render.ts";
import { STATUS_CSS } from "../../../src/status/status-css.ts";
import type { StatusModel } from "../../../src/status/types.ts";
import { entry, runReport, type TempMirror, tempMirror } from "./mirror-files.ts";

const NOW = new Date("2026-03-10T18:00:00.000Z");
const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>'&"`;

function tags(html: string, name: string): string[] {
  return html.match(new RegExp(`<${name}\\b[^>]*>`, "g")) ?? [];
}

describe("status/render", () => {
  let mirror: TempMirror;
  beforeEach(async () => {
    mirror = await tempMirror();
  });
  afterEach(async () => {
    await mirror.remove();
  });

  describe("renderStatusPage", () => {
    it("renders an empty mirror as a complete, script-free page", async () => {
      const html = renderStatusPage(await collectStatus({ store: mirror.store, now: NOW }));

      expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
      expect(html).toContain("<title>Homebrew mirror status: critical</title>");
      expect(html).toContain("The mirror holds no bottles yet.");
      expect(html).toContain("No run has been recorded yet.");
      expect(html).toContain(">No runs yet</text>");
      expect(tags(html, "script")).toEqual([]);
      expect(html).not.toMatch(/\son[a-z]+=/i);
      expect(tags(html, "main")).toHaveLength(1);
      expect(tags(html, "h1")).toHaveLength(1);
    });

    it("escapes every string that comes from the mirror's files", async () => {
      const hostileKey = `bottles/${HOSTILE}-1.0.arm64_sequoia.bottle.tar.gz`;
      await mirror.writeState({ [hostileKey]: entry(HOSTILE, HOSTILE, 1234) });
      await mirror.writeRun(
        runReport(`run-${HOSTILE.replaceAll("/", "")}`, "2026-03-10T12:00:00.000Z", {
          status: "failed",
          errors: [{ key: hostileKey, message: `sha256 differs for ${HOSTILE}` }],
        }),
      );
      const model = await collectStatus({ store: mirror.store, now: NOW });
      model.location = HOSTILE;
      model.deployments = {
        environments: [
          {
            env: HOSTILE,
            current: HOSTILE,
            total: 1,
            records: [
              {
                id: HOSTILE,
                version: HOSTILE,
                status: HOSTILE,
                startedAt: "2026-03-10T10:00:00.000Z",
                finishedAt: "2026-03-10T10:01:00.000Z",
                actor: HOSTILE,
                rollbackOf: HOSTILE,
                rollbackOfVersion: HOSTILE,
                changes: null,
                errors: [HOSTILE],
              },
            ],
          },
        ],
      };

      const html = renderStatusPage(model);

      expect(tags(html, "script")).toEqual([]);
      expect(tags(html, "img")).toEqual([]);
      expect(html).not.toContain(HOSTILE);
      expect(html).toContain(escapeHtml(HOSTILE));
      expect(html).toContain(`sha256 differs for ${escapeHtml(HOSTILE)}`);
      expect(html).toContain(`<code>run-${escapeHtml(HOSTILE.replaceAll("/", ""))}</code>`);
      // Every attribute value stays inside its quotes: outside them, no attribute comes from the data.
      for (const tag of html.match(/<[a-z][^>]*>/g) ?? []) {
        expect(tag.replace(/"[^"]*"/g, '""'), tag).not.toMatch(/onerror|alert|src=/);
      }
    });

    it("shows failed runs with their errors and how many more there were", async () => {
      await mirror.writeRun(
        runReport("r-ok", "2026-03-10T06:00:00.000Z", { transferred: 3, bytes: 3 * 1024 * 1024 }),
      );
      const errors = Array.from({ length: 25 }, (_, n) => ({
        key: `bottles/b${n}.tar.gz`,
        message: `HTTP 503 for b${n}`,
        status: 503,
      }));
      await mirror.writeRun(runReport("r-bad", "2026-03-10T12:00:00.000Z", { status: "failed", errors }));

      const html = renderStatusPage(await collectStatus({ store: mirror.store, now: NOW }));

      const block = html.slice(html.indexOf('<section class="run-errors" data-run-id="r-bad"'));
      expect(block).toContain("Errors of run <code>r-bad</code> (25)");
      expect(block).toContain(
        '<code class="key">bottles/b0.tar.gz</code> <span class="muted">HTTP 503</span>: HTTP 503 for b0',
      );
      expect(block).toContain("… and 5 more in <code>_sync/runs/r-bad.json</code>");
      expect(html).not.toContain('class="run-errors" data-run-id="r-ok"');
      expect(html).toContain('<tr data-run-id="r-bad" class="row-failed">');
      expect(html).toMatch(/<rect class="bar failed"[^>]*data-value="0"/);
      expect(html).toMatch(/<rect class="bar"[^>]*data-value="3145728"><title>[^<]*3\.00 MiB/);
    });

    it("gives every table a caption and every chart role img with a title it is labelled by", async () => {
      await mirror.writeState({
        "bottles/a-1.arm64_sequoia.bottle.tar.gz": entry("a", "arm64_sequoia", 5_000_000),
      });
      await mirror.writeRun(
        runReport("r1", "2026-03-10T06:00:00.000Z", { transferred: 1, bytes: 5_000_000 }),
      );
      const model: StatusModel = await collectStatus({ store: mirror.store, now: NOW });
      model.deployments = { environments: [{ env: "dev", current: null, total: 0, records: [] }] };

      const html = renderStatusPage(model);

      const tables = html.split("<table").slice(1);
      expect(tables.length).toBeGreaterThanOrEqual(3);
      for (const table of tables) expect(table).toMatch(/^[^>]*>\s*<caption>[^<]+/);
      const svgs = html.match(/<svg\b[^>]*>[\s\S]*?<\/svg>/g) ?? [];
      expect(svgs).toHaveLength(2);
      for (const svg of svgs) {
        expect(svg).toMatch(/^<svg[^>]* role="img"/);
        const [, titleId = "", descId = ""] = /aria-labelledby="([^" ]+) ([^"]+)"/.exec(svg) ?? [];
        expect(svg).toContain(`<title id="${titleId}">`);
        expect(svg).toContain(`<desc id="${descId}">`);
      }
      expect(html).toContain('<td class="num" data-bytes="5000000" title="5,000,000 bytes">4.77 MiB</td>');
    });
  });

  describe("format", () => {
    it("prints binary sizes with three significant digits", () => {
      expect([0, 1023, 1024, 1536, 10 * 1024 * 1024 + 1, 5_000_000_000].map(humanBytes)).toEqual([
        "0 B",
        "1023 B",
        "1.00 KiB",
        "1.50 KiB",
        "10.0 MiB",
        "4.66 GiB",
      ]);
    });

    it("prints ages in the largest useful units", () => {
      expect([5, 125, 3 * 3600 + 300, 50 * 3600].map(humanDuration)).toEqual([
        "5 s",
        "2 min",
        "3 h 5 min",
        "2 d 2 h",
      ]);
    });

    it("rounds chart axes up to readable steps", () => {
      expect([0, 7, 27, 130, 1000].map(niceCount)).toEqual([1, 8, 30, 150, 1000]);
      expect(niceBytes(3.2 * 1024 * 1024)).toBe(4 * 1024 * 1024);
      expect(niceBytes(700 * 1024)).toBe(800 * 1024);
    });
  });

  describe("STATUS_CSS", () => {
    it("keeps every text colour at 4.5:1 or more against its background", () => {
      const vars = Object.fromEntries(
        [...STATUS_CSS.matchAll(/--([a-z-]+): (#[0-9a-f]{6});/g)].map((m) => [m[1], m[2]]),
      );
      const pairs: Array<[string, string]> = [
        ["text", "bg"],
        ["muted", "bg"],
        ["muted", "panel"],
        ["link", "bg"],
        ["ok-text", "ok-bg"],
        ["bad-text", "bad-bg"],
        ["warn-text", "warn-bg"],
        ["text", "panel"],
      ];
      for (const [fg, bg] of pairs) {
        expect(contrast(vars[fg] as string, vars[bg] as string), `${fg} on ${bg}`).toBeGreaterThanOrEqual(
          4.5,
        );
      }
    });
  });
});

/** WCAG 2 contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string): number => {
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}
