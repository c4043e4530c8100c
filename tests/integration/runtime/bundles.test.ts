/**
 * The built artifacts, as Lambda and ECS run them: each bundle from `npm run build` (built once here,
 * into a temp folder) is imported in a fresh `node` process and its handler runs against the emulator
 * and s3rver. Lambda Invoke and ECS RunTask have no local server: the bundles' AWS clients point at a
 * tiny HTTP stub (AWS_ENDPOINT_URL_LAMBDA / _ECS) that records each request and answers like AWS
 * (202 for an Event invocation, a started task for RunTask) — it proves the requests leave the bundle
 * well-formed, not how AWS would act on them.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFunctions } from "../../../scripts/build.ts";
import { readLease } from "../../../src/mirror/lock.ts";
import { runReportKey } from "../../../src/mirror/report.ts";
import { readText } from "../../../src/mirror/state.ts";
import { S3Store } from "../../../src/storage/s3.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";
import { blobsRequestedTwice, functionEnv } from "./helpers.ts";

interface RecordedRequest {
  path: string;
  target: string | undefined;
  body: string;
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  result: unknown;
}

const upstream = withEmulator({ fixtures: false, synthetic: { formulae: 4, tags: ["x86_64_linux"] } });
let s3: S3rverHandle;
let outDir: string;
let stub: Server;
let stubUrl: string;
const recorded: RecordedRequest[] = [];

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), "hbsync-bundles-"));
  [s3] = await Promise.all([startS3rver(), buildFunctions({ outDir, gitSha: "test" })]);
  stub = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const target = req.headers["x-amz-target"] as string | undefined;
      recorded.push({ path: req.url ?? "", target, body: Buffer.concat(chunks).toString("utf8") });
      if (target?.endsWith(".RunTask")) {
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        res.end(
          JSON.stringify({
            tasks: [{ taskArn: "arn:aws:ecs:us-east-1:123456789012:task/stub" }],
            failures: [],
          }),
        );
        return;
      }
      res.writeHead(202, { "content-type": "application/json" });
      res.end();
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
  stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => stub?.close(resolve));
  await s3?.close();
  await rm(outDir, { recursive: true, force: true });
});

function bundleEnv(prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    ...functionEnv(upstream(), s3, {
      MIRROR_PREFIX: prefix,
      AWS_ENDPOINT_URL_LAMBDA: stubUrl,
      AWS_ENDPOINT_URL_ECS: stubUrl,
      ...overrides,
    }),
  };
}

/** `node -e`: import the bundle by file URL and call its handler with a Lambda-shaped context. */
function runHandler(bundle: string, event: unknown, env: Record<string, string>): Promise<ChildResult> {
  const script = `
    const { handler } = await import(${JSON.stringify(pathToFileURL(join(outDir, bundle)).href)});
    const context = { functionName: "hbsync-test-fn", awsRequestId: "req-" + process.pid, getRemainingTimeInMillis: () => 600000 };
    const result = await handler(${JSON.stringify(event)}, context);
    process.stdout.write("\\nRESULT " + JSON.stringify(result) + "\\n");`;
  return runNode(["--input-type=module", "-e", script], env);
}

function runNode(args: string[], env: Record<string, string>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (data: Buffer) => {
      stdout += data.toString();
    });
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const line = stdout.split("\n").find((text) => text.startsWith("RESULT "));
      resolve({ code, stdout, stderr, result: line ? JSON.parse(line.slice("RESULT ".length)) : undefined });
    });
  });
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("scripts/build bundles", () => {
  describe("orchestrator + worker (index.mjs)", () => {
    it("plans and invokes the worker, which then mirrors the run, each in a fresh node process", async () => {
      const env = bundleEnv("lambda-route");
      upstream().resetStats();

      const planned = await runHandler("orchestrator/index.mjs", {}, env);

      expect(planned.code, planned.stderr).toBe(0);
      expect(planned.result).toMatchObject({ route: "lambda", bottles: 4 });
      const runId = (planned.result as { runId: string }).runId;
      const invoke = recorded.find((request) =>
        request.path.includes("/functions/hbsync-test-worker/invocations"),
      );
      expect(invoke).toBeDefined();
      expect(JSON.parse(invoke?.body ?? "{}")).toEqual({ runId, continuation: 0 });
      expect(
        jsonLines(planned.stdout).some(
          (line) => line.runId === runId && line.service === "hbsync-orchestrator",
        ),
      ).toBe(true);

      const worked = await runHandler("worker/index.mjs", JSON.parse(invoke?.body ?? "{}"), env);

      expect(worked.code, worked.stderr).toBe(0);
      expect(worked.result).toMatchObject({ status: "succeeded" });
      expect(upstream().stats.blobRequests).toBe(4);
      expect(blobsRequestedTwice(upstream())).toEqual([]);
      const emf = jsonLines(worked.stdout).find((line) => line._aws !== undefined);
      expect(emf).toMatchObject({ bottles: 4, failures: 0 });
      const store = new S3Store({ bucket: s3.bucket, prefix: "lambda-route", clientConfig: s3.clientConfig });
      expect(JSON.parse((await readText(store, runReportKey(runId))) ?? "{}")).toMatchObject({
        status: "succeeded",
      });
      expect(await readLease(store)).toBeNull();
      await store.close?.();
    });
  });

  describe("ecs-task (task.mjs)", () => {
    it("runs the plan the orchestrator handed to ECS, as `node task.mjs` with RUN_ID", async () => {
      const env = bundleEnv("ecs-route", { SIZE_THRESHOLD_GB: "0.000000001" });

      const planned = await runHandler("orchestrator/index.mjs", {}, env);

      expect(planned.code, planned.stderr).toBe(0);
      expect(planned.result).toMatchObject({
        route: "ecs",
        taskArn: "arn:aws:ecs:us-east-1:123456789012:task/stub",
      });
      const runId = (planned.result as { runId: string }).runId;
      const runTask = JSON.parse(
        recorded.find((request) => request.target?.endsWith(".RunTask"))?.body ?? "{}",
      );
      expect(runTask.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE_SPOT", weight: 1 }]);
      expect(runTask.overrides.containerOverrides).toEqual([
        { name: "sync", environment: [{ name: "RUN_ID", value: runId }] },
      ]);

      const task = await runNode([join(outDir, "ecs-task/task.mjs")], {
        ...env,
        RUN_ID: runId,
        TMPDIR: outDir,
      });

      expect(task.code, task.stderr).toBe(0);
      const store = new S3Store({ bucket: s3.bucket, prefix: "ecs-route", clientConfig: s3.clientConfig });
      expect(JSON.parse((await readText(store, runReportKey(runId))) ?? "{}")).toMatchObject({
        status: "succeeded",
        counts: { transferred: 4 },
      });
      expect(await store.stat("api/formula.jws.json")).not.toBeNull();
      await store.close?.();
    });
  });

  describe("module init", () => {
    it.each(["orchestrator/index.mjs", "worker/index.mjs", "ecs-task/task.mjs"])(
      "%s fails fast naming MIRROR_BUCKET when it is not set",
      async (bundle) => {
        const env = bundleEnv("unused");
        delete (env as Record<string, string | undefined>).MIRROR_BUCKET;

        const child = await runHandler(bundle, {}, env);

        expect(child.code).not.toBe(0);
        expect(child.stderr).toContain("MIRROR_BUCKET is required");
      },
    );
  });
});
