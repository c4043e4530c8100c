import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { DeploymentLedger } from "../../../src/pipeline/ledger.ts";
import type { StatusModel } from "../../../src/status/types.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { entry, runReport, type TempMirror, tempMirror } from "./mirror-files.ts";

describe("cli/commands/report", () => {
  let mirror: TempMirror;
  const hbsync = async (args: string[]) => {
    const output = memoryOutput();
    const code = await run(args, output, { cwd: mirror.root, env: {} });
    return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
  };

  beforeEach(async () => {
    mirror = await tempMirror();
    await mirror.writeState({
      "bottles/a-1.arm64_sequoia.bottle.tar.gz": entry("a", "arm64_sequoia", 3000),
      "bottles/a-1.x86_64_linux.bottle.tar.gz": entry("a", "x86_64_linux", 4000),
    });
    await mirror.writeRun(
      runReport("r1", new Date(Date.now() - 3_600_000).toISOString(), { transferred: 2, bytes: 7000 }),
    );
  });
  afterEach(async () => {
    await mirror.remove();
  });

  describe("hbsync report", () => {
    it("writes index.html, status.css and status.json for the mirror into --out", async () => {
      const result = await hbsync(["report", "--dest", ".", "--out", "site"]);

      expect(result.code, result.stderr).toBe(0);
      expect((await readdir(join(mirror.root, "site"))).sort()).toEqual([
        "index.html",
        "status.css",
        "status.json",
      ]);
      const model = JSON.parse(await readFile(join(mirror.root, "site/status.json"), "utf8")) as StatusModel;
      expect(model.mirror.bottles).toBe(2);
      expect(model.mirror.bytes).toBe(7000);
      expect(model.health.status).toBe("ok");
      expect(model.costs).toBeNull();
      expect(model.deployments).toBeNull();
      const html = await readFile(join(mirror.root, "site/index.html"), "utf8");
      expect(html).toContain('<link rel="stylesheet" href="status.css">');
      expect(html).toContain('data-bytes="7000"');
      expect(result.stdout).toContain("ok: 2 bottles (6.84 KiB) over 2 tag(s); last successful sync");
    });

    it("adds the cost estimate when a config is given, and prints JSON with --json", async () => {
      await writeFile(join(mirror.root, "hbsync.yaml"), CONFIG);

      const result = await hbsync([
        "report",
        "--dest",
        ".",
        "--out",
        "site",
        "--config",
        "hbsync.yaml",
        "--json",
      ]);

      expect(result.code, result.stderr).toBe(0);
      const printed = JSON.parse(result.stdout) as { files: string[]; health: { status: string } };
      expect(printed.files.map((file) => file.slice(file.lastIndexOf("/") + 1))).toEqual([
        "status.css",
        "status.json",
        "index.html",
      ]);
      const model = JSON.parse(await readFile(join(mirror.root, "site/status.json"), "utf8")) as StatusModel;
      expect(model.costs?.environments.map((env) => env.env)).toEqual(["dev"]);
      expect(model.costs?.totalUsd).toBeGreaterThan(0);
    });

    it("shows the deployment ledger given with --ledger", async () => {
      const ledger = new DeploymentLedger(new FsStore(join(mirror.root, "ledger")));
      const deployed = await ledger.append({
        env: "prod",
        version: "v2.0.0",
        artifacts: [],
        started: "2026-03-10T10:00:00.000Z",
        finished: "2026-03-10T10:04:00.000Z",
        status: "succeeded",
        actor: "release-bot",
        changeSummary: { add: 0, change: 3, destroy: 0 },
        errors: [],
      });

      const result = await hbsync(["report", "--dest", ".", "--out", "site", "--ledger", "ledger"]);

      expect(result.code, result.stderr).toBe(0);
      const model = JSON.parse(await readFile(join(mirror.root, "site/status.json"), "utf8")) as StatusModel;
      expect(model.deployments?.environments).toEqual([
        {
          env: "prod",
          current: "v2.0.0",
          total: 1,
          records: [
            {
              id: deployed.id,
              version: "v2.0.0",
              status: "succeeded",
              startedAt: "2026-03-10T10:00:00.000Z",
              finishedAt: "2026-03-10T10:04:00.000Z",
              actor: "release-bot",
              rollbackOf: null,
              rollbackOfVersion: null,
              changes: { add: 0, change: 3, destroy: 0 },
              errors: [],
            },
          ],
        },
      ]);
      const html = await readFile(join(mirror.root, "site/index.html"), "utf8");
      expect(html).toContain(`<tr data-deployment-id="${deployed.id}" data-rollback="false"`);
    });

    it("marks the mirror stale after --stale-after hours", async () => {
      const result = await hbsync([
        "report",
        "--dest",
        ".",
        "--out",
        "site",
        "--stale-after",
        "0.5",
        "--json",
      ]);

      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as { health: { status: string } }).health.status).toBe("critical");
    });

    it("refuses a --stale-after that is not a positive number with exit 2", async () => {
      const result = await hbsync(["report", "--dest", ".", "--out", "site", "--stale-after", "soon"]);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--stale-after "soon" is not a positive number of hours');
    });

    it("fails with exit 2 when an explicit --config does not exist", async () => {
      const result = await hbsync(["report", "--dest", ".", "--out", "site", "--config", "missing.yaml"]);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain("missing.yaml");
    });
  });
});

const CONFIG = `project:
  name: report-test
environments:
  dev:
    aws_region: us-west-2
    size_threshold_gb: 5
    schedule_expression: "rate(6 hours)"
    enable_fargate_spot: true
    budget_usd: 25
`;
