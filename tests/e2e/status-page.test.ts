/**
 * The status page end to end: a real sync from the emulator into a temp folder mirror (three runs
 * through the CLI: a first full sync, a failed one, a recovering one), a deployment ledger, the page
 * served by `statusRoutes` on loopback and loaded in headless Chromium (Debian `chromium` +
 * playwright-core), with and without JavaScript. The numbers the browser shows are compared with
 * `_sync/state.json` and `_sync/runs/*.json` read directly from disk by this test.
 * Screenshots are kept under test-results/status/ as artifacts.
 */

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/cli.ts";
import { memoryOutput } from "../../src/cli/output.ts";
import { loadConfigOrThrow } from "../../src/config/load.ts";
import { statusRoutes } from "../../src/status/routes.ts";
import { FsStore } from "../../src/storage/fs.ts";
import { withEmulator } from "../helpers/emulator.ts";
import { CONTRAST_CHECK } from "./contrast-check.ts";
import { e2eLedger } from "./status-ledger.ts";

const REPO = resolve(import.meta.dirname, "../..");
const ARTIFACTS = join(REPO, "test-results/status");
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TAGS = ["arm64_sequoia", "x86_64_linux"];
const UPSTREAM_DATE = new Date("2026-03-09T22:15:00.000Z");
const RUN_IDS = ["20260310T060000Z-first1", "20260310T120000Z-broken", "20260310T180000Z-again1"];

interface StateFile {
  entries: Record<string, { size: number; tag: string; supersededAt?: string }>;
}
interface RunFile {
  runId: string;
  status: string;
  startedAt: string;
  finishedAt: string;
  counts: { transferred: number };
  bytes: { transferred: number };
  errors: Array<{ key: string; message: string }>;
}

describe("status page (e2e: emulator → hbsync sync → status page → Chromium)", () => {
  const emulator = withEmulator({
    lastModified: UPSTREAM_DATE,
    synthetic: { formulae: 12, tags: TAGS, sizes: { min: 40_000, max: 400_000 } },
  });
  let workdir = "";
  let root = "";
  let server: Server | undefined;
  let base = "";
  let browser: Browser | undefined;
  let now = new Date();
  let state: StateFile;
  let runs: RunFile[] = [];
  const pageRequests: string[] = [];

  const hbsync = async (args: string[]): Promise<{ code: number; stderr: string }> => {
    const output = memoryOutput();
    const code = await run(args, output, { cwd: workdir, env: {} });
    return { code, stderr: output.stderr.join("\n") };
  };
  const sync = (runId: string) =>
    hbsync([
      "sync",
      "--dest",
      root,
      "--upstream-api",
      emulator().api,
      "--upstream-registry",
      emulator().registry,
      "--trusted-key",
      emulator().publicKeyPath,
      "--tags",
      TAGS.join(","),
      "--run-id",
      runId,
    ]);

  beforeAll(async () => {
    workdir = await mkdtemp(join(tmpdir(), "hbsync-status-e2e-"));
    root = join(workdir, "mirror");
    await mkdir(ARTIFACTS, { recursive: true });

    // 1. A full sync.
    const first = await sync(RUN_IDS[0] as string);
    expect(first.code, first.stderr).toBe(0);
    // 2. Upstream publishes a new revision; one of its bottles cannot be downloaded: the run fails.
    const bumped = emulator().index.formulae.find((formula) => formula.name.startsWith("synth"))?.name ?? "";
    const index = await emulator().bump(bumped);
    const broken = index.bottles.find((bottle) => bottle.formula === bumped && TAGS.includes(bottle.tag));
    if (!broken) throw new Error(`no bottle of ${bumped} to break`);
    emulator().faults.inject({
      match: broken.sha256,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: "status", status: 404 },
    });
    const second = await sync(RUN_IDS[1] as string);
    expect(second.code).toBe(1);
    // 3. The fault is gone: the next run completes (and supersedes the old revision's bottles).
    emulator().faults.clear();
    const third = await sync(RUN_IDS[2] as string);
    expect(third.code, third.stderr).toBe(0);

    // What the page must show, read straight from the files.
    state = JSON.parse(await readFile(join(root, "_sync/state.json"), "utf8")) as StateFile;
    const names = (await readdir(join(root, "_sync/runs"))).filter((name) => name.endsWith(".json"));
    runs = await Promise.all(
      names.map(
        async (name) => JSON.parse(await readFile(join(root, "_sync/runs", name), "utf8")) as RunFile,
      ),
    );
    runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt));

    const configPath = join(workdir, "config.yaml");
    await writeFile(configPath, CONFIG);
    const { config } = await loadConfigOrThrow(configPath);
    const ledger = await e2eLedger(join(workdir, "ledger"));

    now = new Date();
    const routes = statusRoutes({ store: new FsStore(root), ledger, config, now: () => now });
    server = createServer((req, res) => {
      pageRequests.push(req.url ?? "");
      routes(req, res)
        .then((handled) => {
          if (!handled) {
            res.statusCode = 404;
            res.end("not found\n");
          }
        })
        .catch((error: unknown) => {
          res.statusCode = 500;
          res.end(String(error));
        });
    });
    await new Promise<void>((done) => server?.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((done) => server?.close(() => done()));
    }
    await rm(workdir, { recursive: true, force: true });
  });

  /** The page in a fresh browser context, loaded once per JavaScript setting and screenshotted. */
  const pages = new Map<boolean, Promise<Page>>();
  function open(javaScriptEnabled: boolean): Promise<Page> {
    const cached = pages.get(javaScriptEnabled);
    if (cached) return cached;
    const loading = (async () => {
      if (!browser) throw new Error("no browser");
      const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 1100, height: 900 } });
      const page = await context.newPage();
      const response = await page.goto(`${base}/`);
      expect(response?.status()).toBe(200);
      const name = javaScriptEnabled ? "status-page.png" : "status-page-no-js.png";
      await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
      return page;
    })();
    pages.set(javaScriptEnabled, loading);
    return loading;
  }

  it("shows the bottle count and bytes per tag that _sync/state.json holds", async () => {
    const page = await open(true);
    const expected = new Map<string, { bottles: number; bytes: number }>();
    let superseded = { bottles: 0, bytes: 0 };
    for (const entry of Object.values(state.entries)) {
      if (entry.supersededAt) {
        superseded = { bottles: superseded.bottles + 1, bytes: superseded.bytes + entry.size };
        continue;
      }
      const tag = expected.get(entry.tag) ?? { bottles: 0, bytes: 0 };
      expected.set(entry.tag, { bottles: tag.bottles + 1, bytes: tag.bytes + entry.size });
    }
    expect(superseded.bottles).toBeGreaterThan(0);
    // The 2022 fixture entries' newest arm bottle is arm64_monterey: what brew pours on arm64_sequoia.
    expect([...expected.keys()].sort()).toEqual(
      [...TAGS, "all", "arm64_monterey"].filter((tag) => expected.has(tag)).sort(),
    );

    const shown = await page.$$eval("#bottles-table tbody tr", (rows) =>
      rows.map((row) => ({
        tag: row.getAttribute("data-tag"),
        bottlesText: row.querySelector("td[data-count]")?.textContent ?? "",
        bytes: Number(row.querySelector("td[data-bytes]")?.getAttribute("data-bytes")),
        bytesTitle: row.querySelector("td[data-bytes]")?.getAttribute("title") ?? "",
        bytesText: row.querySelector("td[data-bytes]")?.textContent ?? "",
      })),
    );
    expect(shown.map((row) => row.tag).sort()).toEqual([...expected.keys()].sort());
    for (const row of shown) {
      const want = expected.get(row.tag ?? "");
      expect(row.bottlesText, row.tag ?? "").toBe(String(want?.bottles));
      expect(row.bytes, row.tag ?? "").toBe(want?.bytes);
      expect(row.bytesTitle).toBe(`${want?.bytes.toLocaleString("en-US")} bytes`);
      expectHumanSize(row.bytesText, want?.bytes ?? -1);
    }
    const total = [...expected.values()].reduce(
      (sum, tag) => ({ bottles: sum.bottles + tag.bottles, bytes: sum.bytes + tag.bytes }),
      { bottles: 0, bytes: 0 },
    );
    const footer = await page.$$eval("#bottles-table tfoot tr", (rows) =>
      rows.map((row) => [
        row.getAttribute("data-tag"),
        row.querySelector("td[data-count]")?.getAttribute("data-count"),
        row.querySelector("td[data-bytes]")?.getAttribute("data-bytes"),
      ]),
    );
    expect(footer).toEqual([
      ["total", String(total.bottles), String(total.bytes)],
      ["superseded", String(superseded.bottles), String(superseded.bytes)],
    ]);
  });

  it("shows every run's bottles and bytes, in the chart and its table, as the run reports say", async () => {
    const page = await open(true);
    expect(runs.map((report) => [report.runId, report.status])).toEqual([
      [RUN_IDS[0], "succeeded"],
      [RUN_IDS[1], "failed"],
      [RUN_IDS[2], "succeeded"],
    ]);
    const rows = await page.$$eval("#runs-chart-table tbody tr", (trs) =>
      trs.map((tr) => ({
        runId: tr.getAttribute("data-run-id"),
        started: tr.querySelector("time")?.getAttribute("datetime"),
        status: tr.querySelector("[data-status]")?.textContent,
        bottles: tr.querySelector("td[data-count]")?.textContent,
        bytes: Number(tr.querySelector("td[data-bytes]")?.getAttribute("data-bytes")),
      })),
    );
    expect(rows).toEqual(
      runs.map((report) => ({
        runId: report.runId,
        started: report.startedAt,
        status: report.status,
        bottles: report.counts.transferred.toLocaleString("en-US"),
        bytes: report.bytes.transferred,
      })),
    );
    expect(runs[0]?.bytes.transferred).toBeGreaterThan(0);
    const bars = await page.$$eval("#chart-bytes rect.bar", (rects) =>
      rects.map((rect) => Number(rect.getAttribute("data-value"))),
    );
    expect(bars).toEqual(runs.map((report) => report.bytes.transferred));
    const bottleBars = await page.$$eval("#chart-bottles rect.bar", (rects) =>
      rects.map((rect) => [Number(rect.getAttribute("data-value")), rect.classList.contains("failed")]),
    );
    expect(bottleBars).toEqual(runs.map((report) => [report.counts.transferred, report.status === "failed"]));
    // Taller bar, more bytes: the chart is drawn to scale.
    const heights = await page.$$eval("#chart-bytes rect.bar", (rects) =>
      rects.map((rect) => Number(rect.getAttribute("height"))),
    );
    const [firstRun, , lastRun] = runs;
    expect(Math.sign((heights[0] ?? 0) - (heights[2] ?? 0))).toBe(
      Math.sign((firstRun?.bytes.transferred ?? 0) - (lastRun?.bytes.transferred ?? 0)),
    );
  });

  it("shows the last successful sync, the upstream index date and the failed run's errors", async () => {
    const page = await open(true);
    const lastSuccess = runs.filter((report) => report.status === "succeeded").at(-1);
    const lastSync = page.locator('time[data-field="last-sync"]');
    expect(await lastSync.getAttribute("datetime")).toBe(lastSuccess?.finishedAt);
    expect(await lastSync.textContent()).toBe(
      `${lastSuccess?.finishedAt.slice(0, 16).replace("T", " ")} UTC`,
    );
    expect(await page.locator('time[data-field="upstream-index"]').getAttribute("datetime")).toBe(
      UPSTREAM_DATE.toISOString(),
    );
    expect(await page.locator('time[data-field="last-run"]').getAttribute("datetime")).toBe(
      runs.at(-1)?.finishedAt,
    );

    const failed = runs.find((report) => report.status === "failed");
    expect(failed?.errors.length).toBeGreaterThan(0);
    const block = page.locator(`section.run-errors[data-run-id="${failed?.runId}"]`);
    const items = await block.locator("li").allTextContents();
    expect(items).toHaveLength(failed?.errors.length ?? -1);
    for (const [n, error] of (failed?.errors ?? []).entries()) {
      expect(items[n]).toContain(error.key);
      expect(items[n]).toContain(error.message);
    }
    expect(
      await page
        .locator(`#recent-runs-table tr[data-run-id="${failed?.runId}"] td[data-count]`)
        .last()
        .textContent(),
    ).toBe(String(failed?.errors.length));
  });

  it("shows the ledger per environment with the rollback marked, and a cost per environment", async () => {
    const page = await open(true);
    const prod = page.locator('section.environment[data-env="prod"]');
    expect(await prod.locator("tbody tr").count()).toBe(3);
    const rollback = prod.locator('tr[data-rollback="true"]');
    expect(await rollback.count()).toBe(1);
    expect(await rollback.textContent()).toContain("rollback of v1.1.0");
    expect(await prod.locator("[data-current-version]").textContent()).toBe("v1.0.0");
    expect(await page.locator('section.environment[data-env="dev"] tbody tr').count()).toBe(1);

    const json = (await (await fetch(`${base}/status.json`)).json()) as {
      costs: { environments: Array<{ env: string; totalUsd: number }> };
    };
    const costs = await page.$$eval("#costs-table tbody tr", (trs) =>
      trs.map((tr) => [
        tr.getAttribute("data-env"),
        Number(tr.querySelector("[data-usd]")?.getAttribute("data-usd")),
      ]),
    );
    expect(costs).toEqual(json.costs.environments.map((env) => [env.env, env.totalUsd]));
    expect(costs.map(([env]) => env)).toEqual(["dev", "prod"]);
    for (const [, usd] of costs) expect(usd).toBeGreaterThan(0);
  });

  it("shows the same page with JavaScript disabled, and loads no script at all", async () => {
    const withJs = await open(true);
    pageRequests.length = 0;
    const withoutJs = await open(false);

    const text = (page: Page) => page.locator("body").innerText();
    expect(await text(withoutJs)).toBe(await text(withJs));
    expect(await withoutJs.locator("svg.chart rect.bar").count()).toBe(runs.length * 2);
    expect(await withoutJs.locator("script").count()).toBe(0);
    expect(pageRequests.filter((path) => path !== "/favicon.ico").sort()).toEqual(["/", "/status.css"]);
    const css = await withoutJs.locator("h1").evaluate((h1) => getComputedStyle(h1).fontSize);
    expect(css).toBe("28px");
  });

  it("passes basic accessibility checks", async () => {
    const page = await open(true);
    expect(await page.locator("html").getAttribute("lang")).toBe("en");
    expect((await page.title()).length).toBeGreaterThan(0);
    for (const landmark of ["header", "main", "footer"])
      expect(await page.locator(landmark).count(), landmark).toBe(1);
    expect(await page.locator("h1").count()).toBe(1);
    expect(await page.locator("img:not([alt])").count()).toBe(0);

    const tables = await page.$$eval("table", (all) =>
      all.map((table) => table.querySelector(":scope > caption")?.textContent?.trim() ?? ""),
    );
    expect(tables.length).toBeGreaterThanOrEqual(5);
    for (const caption of tables) expect(caption.length).toBeGreaterThan(10);

    const svgs = await page.$$eval("svg", (all) =>
      all.map((svg) => ({
        role: svg.getAttribute("role"),
        title: svg.querySelector(":scope > title")?.textContent ?? "",
        labelled: (svg.getAttribute("aria-labelledby") ?? "")
          .split(" ")
          .map((id) => document.getElementById(id)?.textContent ?? ""),
      })),
    );
    expect(svgs.length).toBe(2);
    for (const svg of svgs) {
      expect(svg.role).toBe("img");
      expect(svg.title.length).toBeGreaterThan(0);
      expect(svg.labelled[0]).toBe(svg.title);
      for (const label of svg.labelled) expect(label.length).toBeGreaterThan(0);
    }

    // Headings never skip a level.
    const levels = await page.$$eval("h1, h2, h3, h4, h5, h6", (all) =>
      all.map((h) => Number(h.tagName.slice(1))),
    );
    for (let i = 1; i < levels.length; i++)
      expect((levels[i] ?? 0) - (levels[i - 1] ?? 0)).toBeLessThanOrEqual(1);

    // Text contrast, as the browser computed it: at least 4.5:1 against the nearest opaque background.
    const low = await page.evaluate(CONTRAST_CHECK);
    expect(low).toEqual([]);
  });
});

/** "1.23 MiB" → within rounding of `bytes`. */
function expectHumanSize(text: string, bytes: number): void {
  const match = /^([\d.]+) (B|KiB|MiB|GiB)$/.exec(text);
  expect(match, text).not.toBeNull();
  const unit = 1024 ** ["B", "KiB", "MiB", "GiB"].indexOf(match?.[2] ?? "");
  const value = Number(match?.[1]) * unit;
  expect(Math.abs(value - bytes) / Math.max(bytes, 1), `${text} vs ${bytes}`).toBeLessThan(0.01);
}

const CONFIG = `project:
  name: status-e2e
environments:
  dev:
    aws_region: us-west-2
    size_threshold_gb: 5
    schedule_expression: "cron(0 */6 * * ? *)"
    enable_fargate_spot: true
    budget_usd: 25
  prod:
    aws_region: us-east-1
    size_threshold_gb: 20
    schedule_expression: "cron(0 3 ? * SUN *)"
    enable_fargate_spot: false
    budget_usd: 100
`;
