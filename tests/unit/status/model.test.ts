import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { loadConfigOrThrow } from "../../../src/config/load.ts";
import { DeploymentLedger } from "../../../src/pipeline/ledger.ts";
import type { StatusLedger } from "../../../src/status/ledger-source.ts";
import { collectStatus, HISTORY_RUNS, MAX_ERRORS_PER_RUN, RECENT_RUNS } from "../../../src/status/model.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { entry, runReport, type TempMirror, tempMirror } from "./mirror-files.ts";

const NOW = new Date("2026-03-10T18:00:00.000Z");

describe("status/model", () => {
  let mirror: TempMirror;
  beforeEach(async () => {
    mirror = await tempMirror();
  });
  afterEach(async () => {
    await mirror.remove();
  });

  describe("collectStatus", () => {
    it("describes an empty mirror without inventing numbers", async () => {
      const model = await collectStatus({ store: mirror.store, now: NOW });

      expect(model.mirror).toEqual({
        bottles: 0,
        bytes: 0,
        tags: [],
        superseded: { bottles: 0, bytes: 0 },
        manifests: 0,
        apiFiles: 0,
      });
      expect(model.runs).toEqual({ total: 0, history: [], recent: [] });
      expect(model.freshness).toMatchObject({
        lastSuccessfulSyncAt: null,
        ageSeconds: null,
        stale: true,
        lastRunAt: null,
        upstreamIndexDate: null,
        stateUpdatedAt: null,
      });
      expect(model.health.status).toBe("critical");
      expect(model.deployments).toBeNull();
      expect(model.costs).toBeNull();
      expect(model.problems).toEqual([]);
    });

    it("counts bottles and bytes per tag from the state, superseded ones apart", async () => {
      const entries = {
        "bottles/a-1.arm64_sequoia.bottle.tar.gz": entry("a", "arm64_sequoia", 1000),
        "bottles/b-1.arm64_sequoia.bottle.tar.gz": entry("b", "arm64_sequoia", 2500),
        "bottles/a-1.x86_64_linux.bottle.tar.gz": entry("a", "x86_64_linux", 700),
        "bottles/c-1.all.bottle.tar.gz": entry("c", "all", 50),
        "bottles/a-0.9.arm64_sequoia.bottle.tar.gz": entry("a", "arm64_sequoia", 900, {
          supersededAt: "2026-03-09T00:00:00.000Z",
        }),
      };
      await mirror.writeState(entries, {
        manifests: { "bottles/a/manifests/1": entry("a", "manifest", 10) },
        api: {
          "api/formula.jws.json": { sha256: "b".repeat(64), size: 5, syncedAt: "2026-03-10T12:00:00.000Z" },
        },
      });

      const model = await collectStatus({ store: mirror.store, now: NOW });

      expect(model.mirror.tags).toEqual([
        { tag: "all", bottles: 1, bytes: 50 },
        { tag: "arm64_sequoia", bottles: 2, bytes: 3500 },
        { tag: "x86_64_linux", bottles: 1, bytes: 700 },
      ]);
      expect(model.mirror.bottles).toBe(4);
      expect(model.mirror.bytes).toBe(4250);
      expect(model.mirror.superseded).toEqual({ bottles: 1, bytes: 900 });
      expect(model.mirror.manifests).toBe(1);
      expect(model.mirror.apiFiles).toBe(1);
      expect(model.freshness.stateUpdatedAt).toBe("2026-03-10T12:05:00.000Z");
    });

    it("takes the last successful sync from the newest succeeded run and flags a failed last run", async () => {
      await mirror.writeRun(
        runReport("20260310T060000Z-aaaaaa", "2026-03-10T06:00:00.000Z", { seconds: 90 }),
      );
      await mirror.writeRun(
        runReport("20260310T120000Z-bbbbbb", "2026-03-10T12:00:00.000Z", {
          status: "failed",
          errors: [{ key: "bottles/x.tar.gz", message: "HTTP 500", status: 500 }],
        }),
      );

      const model = await collectStatus({ store: mirror.store, now: NOW });

      expect(model.freshness.lastSuccessfulSyncAt).toBe("2026-03-10T06:01:30.000Z");
      expect(model.freshness.lastSuccessfulRunId).toBe("20260310T060000Z-aaaaaa");
      expect(model.freshness.ageSeconds).toBe(
        (NOW.getTime() - Date.parse("2026-03-10T06:01:30.000Z")) / 1000,
      );
      expect(model.freshness.stale).toBe(false);
      expect(model.freshness.lastRunStatus).toBe("failed");
      expect(model.health).toEqual({ status: "warning", reasons: ["the last run failed"] });
      expect(model.runs.recent[0]?.errors).toEqual([
        { key: "bottles/x.tar.gz", message: "HTTP 500", status: 500 },
      ]);
    });

    it("is critical when the last success is older than the stale threshold", async () => {
      await mirror.writeRun(runReport("20260301T000000Z-aaaaaa", "2026-03-01T00:00:00.000Z"));

      const model = await collectStatus({ store: mirror.store, now: NOW, staleAfterSeconds: 3600 });

      expect(model.freshness.stale).toBe(true);
      expect(model.health.status).toBe("critical");
    });

    it("keeps the last runs for the charts (oldest first) and the newest with their errors", async () => {
      const total = HISTORY_RUNS + 5;
      const id = (n: number): string => `run-${String(n).padStart(3, "0")}`;
      for (let i = 0; i < total; i++) {
        const started = new Date(Date.UTC(2026, 2, 1, i)).toISOString();
        const errors = Array.from({ length: i === total - 1 ? MAX_ERRORS_PER_RUN + 3 : 0 }, (_, n) => ({
          key: `bottles/f${n}.tar.gz`,
          message: `failed ${n}`,
        }));
        await mirror.writeRun(
          runReport(id(i), started, {
            status: errors.length > 0 ? "failed" : "succeeded",
            transferred: i,
            bytes: i * 1000,
            errors,
          }),
        );
      }

      const model = await collectStatus({ store: mirror.store, now: NOW });

      expect(model.runs.total).toBe(total);
      expect(model.runs.history.map((r) => r.runId)).toEqual(
        Array.from({ length: HISTORY_RUNS }, (_, n) => id(total - HISTORY_RUNS + n)),
      );
      expect(model.runs.history.map((r) => r.bytes)).toEqual(model.runs.history.map((r) => r.bottles * 1000));
      expect(model.runs.recent).toHaveLength(RECENT_RUNS);
      expect(model.runs.recent[0]?.runId).toBe(id(total - 1));
      expect(model.runs.recent[0]?.errors).toHaveLength(MAX_ERRORS_PER_RUN);
      expect(model.runs.recent[0]?.errorCount).toBe(MAX_ERRORS_PER_RUN + 3);
      expect(model.freshness.lastSuccessfulRunId).toBe(id(total - 2));
    });

    it("reads the upstream index date from the run's plan, else from the stored formula.jws.json", async () => {
      await mirror.writeRun(runReport("r1", "2026-03-10T06:00:00.000Z"));
      await mirror.store.put("api/formula.jws.json", "{}");
      const stored = await collectStatus({ store: mirror.store, now: NOW });
      const stat = await mirror.store.stat("api/formula.jws.json");

      await mirror.writeJson("_sync/plans/r1.json", {
        api: [
          {
            key: "api/formula.jws.json",
            sha256: "c".repeat(64),
            size: 2,
            lastModified: "Mon, 09 Mar 2026 22:15:00 GMT",
          },
        ],
      });
      const upstream = await collectStatus({ store: mirror.store, now: NOW });

      expect(stored.freshness.upstreamIndexDate).toBe(stat?.modified.toISOString());
      expect(stored.freshness.upstreamIndexDateSource).toBe("stored-mtime");
      expect(upstream.freshness.upstreamIndexDate).toBe("2026-03-09T22:15:00.000Z");
      expect(upstream.freshness.upstreamIndexDateSource).toBe("upstream-last-modified");
    });

    it("names unreadable run reports as problems and ignores dry runs", async () => {
      await mirror.writeRun(runReport("good", "2026-03-10T06:00:00.000Z"));
      await mirror.store.put("_sync/runs/broken.json", "{not json");
      await mirror.writeJson("_sync/runs/dry.json", {
        ...runReport("dry", "2026-03-10T07:00:00.000Z"),
        status: "dry-run",
      });

      const model = await collectStatus({ store: mirror.store, now: NOW });

      expect(model.runs.history.map((r) => r.runId)).toEqual(["good"]);
      expect(model.problems).toHaveLength(1);
      expect(model.problems[0]).toMatch(/^_sync\/runs\/broken\.json: /);
      expect(model.health.status).toBe("warning");
    });

    it("lists the ledger per environment, newest first, with rollbacks marked", async () => {
      const records: Record<string, unknown[]> = {
        prod: [
          {
            id: "p1",
            env: "prod",
            version: "v1.0.0",
            status: "succeeded",
            started: "2026-03-01T10:00:00Z",
            finished: "2026-03-01T10:05:00Z",
            actor: "ci",
          },
          {
            id: "p2",
            env: "prod",
            version: "v1.1.0",
            status: "failed",
            started: "2026-03-02T10:00:00Z",
            finished: "2026-03-02T10:04:00Z",
            actor: "ci",
            errors: ["apply failed"],
          },
          {
            id: "p3",
            env: "prod",
            version: "v1.0.0",
            status: "succeeded",
            started: "2026-03-02T10:06:00Z",
            finished: "2026-03-02T10:09:00Z",
            actor: "ci",
            rollbackOf: "p2",
          },
        ],
        dev: [],
      };
      const ledger: StatusLedger = { list: async (env) => records[env] ?? [] };

      const model = await collectStatus({
        store: mirror.store,
        now: NOW,
        ledger,
        environments: ["dev", "prod"],
      });

      const prod = model.deployments?.environments.find((env) => env.env === "prod");
      expect(model.deployments?.environments.map((env) => env.env)).toEqual(["dev", "prod"]);
      expect(prod?.records.map((r) => [r.id, r.rollbackOf, r.rollbackOfVersion])).toEqual([
        ["p3", "p2", "v1.1.0"],
        ["p2", null, null],
        ["p1", null, null],
      ]);
      expect(prod?.current).toBe("v1.0.0");
      expect(prod?.records[1]?.errors).toEqual(["apply failed"]);
    });

    it("lists each deployment of the real ledger once, in its latest state, and every environment it knows", async () => {
      const ledger = new DeploymentLedger(new FsStore(join(mirror.root, "ledger")));
      const input = {
        env: "staging",
        version: "abc1234",
        artifacts: [],
        started: "2026-03-10T10:00:00.000Z",
        status: "in_progress" as const,
        actor: "ci",
        changeSummary: { add: 0, change: 1, destroy: 0 },
        errors: [],
      };
      const begun = await ledger.append(input);
      await ledger.append({
        ...input,
        id: begun.id,
        status: "succeeded",
        finished: "2026-03-10T10:03:00.000Z",
      });
      await ledger.append({ ...input, env: "qa", version: "def5678", status: "failed", errors: ["boom"] });

      const model = await collectStatus({ store: mirror.store, now: NOW, ledger });
      const withConfig = await collectStatus({
        store: mirror.store,
        now: NOW,
        ledger,
        config: (await loadConfigOrThrow(await writeConfig(mirror.root))).config,
      });

      expect(model.deployments?.environments.map((env) => env.env)).toEqual(["qa", "staging"]);
      const staging = model.deployments?.environments[1];
      expect(staging?.records.map((r) => [r.id, r.status, r.finishedAt])).toEqual([
        [begun.id, "succeeded", "2026-03-10T10:03:00.000Z"],
      ]);
      expect(staging?.current).toBe("abc1234");
      expect(model.deployments?.environments[0]?.current).toBeNull();
      expect(withConfig.deployments?.environments.map((env) => env.env)).toEqual([
        "dev",
        "prod",
        "qa",
        "staging",
      ]);
    });

    it("estimates each environment's monthly cost as `hbsync cost` does", async () => {
      const configPath = await writeConfig(mirror.root);
      const { config } = await loadConfigOrThrow(configPath);
      const output = memoryOutput();
      expect(
        await run(["cost", "--config", configPath, "--json", "--arch", "arm64"], output, {
          cwd: mirror.root,
          env: {},
        }),
      ).toBe(0);
      const cli = JSON.parse(output.stdout.join("\n")) as {
        totalUsd: number;
        environments: Array<{ env: string; totalUsd: number }>;
      };

      const model = await collectStatus({ store: mirror.store, now: NOW, config });

      expect(model.costs?.environments.map((env) => [env.env, env.totalUsd])).toEqual(
        cli.environments.map((env) => [env.env, env.totalUsd]),
      );
      expect(model.costs?.totalUsd).toBe(cli.totalUsd);
      for (const env of model.costs?.environments ?? []) {
        const sum = env.services.reduce((total, service) => total + service.costUsd, 0);
        expect(Math.abs(sum - env.totalUsd)).toBeLessThanOrEqual(0.01 * env.services.length);
      }
    });
  });
});

async function writeConfig(dir: string): Promise<string> {
  const path = join(dir, "config.yaml");
  await writeFile(path, COST_CONFIG);
  return path;
}

const COST_CONFIG = `project:
  name: status-test
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
    budget_usd: 0
`;
