/**
 * A sharded run for real: the orchestrator core plans in-process and "runs" N = 3 ECS tasks by
 * spawning the ECS task entry (src/runtime/ecs/task.ts under tsx) as three child processes with the
 * environment RunTask would give them (RUN_ID, SHARD_INDEX, SHARD_COUNT), against the emulator as the
 * upstream, into a folder and into s3rver. The merged state must equal a single-process sync's; the
 * API must appear only once every part is in; a killed shard must fail the run (nothing published)
 * and the next run must resume. (The RunTask request itself is pinned with aws-sdk-client-mock in
 * tests/unit/runtime/dispatch.test.ts.)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HomebrewApiClient } from "../../../src/homebrew/api-client.ts";
import { loadTrustedKey } from "../../../src/homebrew/keys.ts";
import { RegistryClient } from "../../../src/homebrew/registry-client.ts";
import { readLease } from "../../../src/mirror/lock.ts";
import { readPlan } from "../../../src/mirror/prepare.ts";
import { type RunReport, runReportKey } from "../../../src/mirror/report.ts";
import type { ShardSpec } from "../../../src/mirror/shards.ts";
import { PARTS_PREFIX, partKey, readPart, shardOf } from "../../../src/mirror/shards.ts";
import { loadState, type MirrorState, readText, STATE_KEY } from "../../../src/mirror/state.ts";
import { syncMirror } from "../../../src/mirror/sync.ts";
import { silentNotifier } from "../../../src/runtime/events.ts";
import { orchestrate } from "../../../src/runtime/orchestrate.ts";
import { runShard } from "../../../src/runtime/run-shard.ts";
import { memoryTelemetry } from "../../../src/runtime/telemetry.ts";
import type { BlobStore } from "../../../src/storage/blob-store.ts";
import { StorageFullError } from "../../../src/storage/errors.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { S3Store } from "../../../src/storage/s3.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";

const REPO = resolve(import.meta.dirname, "../../..");
const TAGS = ["x86_64_linux", "arm64_sonoma"];
const upstream = withEmulator({ fixtures: false, synthetic: { formulae: 12, tags: TAGS } });
const settings = {
  tags: TAGS,
  include: [],
  exclude: [],
  retentionDays: 7,
  concurrency: { checkers: 2, transfers: 2 },
};
let s3: S3rverHandle;
let work: string;
beforeAll(async () => {
  s3 = await startS3rver();
  work = await mkdtemp(join(tmpdir(), "hbsync-shards-"));
});
afterAll(async () => {
  await s3?.close();
  await rm(work, { recursive: true, force: true });
});

interface Target {
  store: BlobStore;
  /** The environment that points the task at the same mirror. */
  env: Record<string, string>;
  /** The folder, for a folder target. */
  root?: string;
}

let targets = 0;
function folderTarget(): Target {
  const root = join(work, `mirror-${++targets}`);
  return { store: new FsStore(root), env: { MIRROR_DEST: root }, root };
}
function s3Target(): Target {
  const prefix = `sharded-${++targets}`;
  return {
    store: new S3Store({ bucket: s3.bucket, prefix, clientConfig: s3.clientConfig }),
    env: { ...s3.env, MIRROR_BUCKET: s3.bucket, MIRROR_PREFIX: prefix },
  };
}

async function clients(): Promise<{ api: HomebrewApiClient; registry: RegistryClient }> {
  return {
    api: new HomebrewApiClient({
      apiBase: upstream().api,
      trustedKey: await loadTrustedKey(upstream().publicKeyPath),
    }),
    registry: new RegistryClient({ registryBase: upstream().registry }),
  };
}

/** The orchestrator core with a dispatcher that records the RunTask requests (shard by shard). */
async function plan(
  target: Target,
  runId: string,
  leaseMs = 20_000,
): Promise<{ shards: ShardSpec[]; bottles: number }> {
  const { api, registry } = await clients();
  const shards: ShardSpec[] = [];
  const outcome = await orchestrate(
    {
      store: target.store,
      api,
      registry,
      settings,
      dispatcher: {
        invokeWorker: async () => {
          throw new Error("a sharded run goes to ECS");
        },
        runTask: async (_runId, shard) => {
          if (shard) shards.push(shard);
          return { taskArn: `arn:aws:ecs:task/${shard?.index ?? "single"}` };
        },
      },
      notifier: silentNotifier,
      telemetry: memoryTelemetry(),
      environment: "test",
      thresholdBytes: 0,
      owner: "test:orchestrator",
      // Every shard renews the run's lease by this much (the kill test makes it short, to see it expire).
      leaseMs,
      shards: { maxTasks: 3, bytesPerTask: 1 },
    },
    runId,
  );
  if (outcome.route === "locked") throw new Error(`locked by ${outcome.holder}`);
  return { shards, bottles: outcome.bottles };
}

/** `node --import tsx src/runtime/ecs/task.ts` with what RunTask's containerOverrides would set. */
function startTask(
  target: Target,
  runId: string,
  shard: ShardSpec,
): { child: ChildProcess; exit: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, ["--import", "tsx", "src/runtime/ecs/task.ts"], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ...target.env,
      ENVIRONMENT: "test",
      MIRROR_TAGS: TAGS.join(","),
      UPSTREAM_API_URL: upstream().api,
      UPSTREAM_REGISTRY_URL: upstream().registry,
      TRUSTED_KEY: upstream().publicKeyPath,
      CHECKERS_CONCURRENCY: "2",
      TRANSFERS_CONCURRENCY: "2",
      SLACK_ENABLED: "false",
      EMAIL_ENABLED: "false",
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "WARN",
      RUN_ID: runId,
      SHARD_INDEX: String(shard.index),
      SHARD_COUNT: String(shard.count),
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<{ code: number | null; stderr: string }>((done) =>
    child.on("exit", (code) => done({ code, stderr })),
  );
  return { child, exit };
}

async function runTasks(target: Target, runId: string, shards: ShardSpec[]): Promise<Array<number | null>> {
  const results = await Promise.all(shards.map((shard) => startTask(target, runId, shard).exit));
  for (const result of results) if (result.code !== 0) console.error(result.stderr);
  return results.map((result) => result.code);
}

/** What runShard needs in this process (the in-process tests call it directly). */
async function shardDeps(store: BlobStore): Promise<Parameters<typeof runShard>[0]> {
  const { registry } = await clients();
  return {
    store,
    registry,
    notifier: silentNotifier,
    telemetry: memoryTelemetry(),
    environment: "test",
    owner: "test:shard",
    leaseMs: 20_000,
  };
}

/** The state without its clocks: what is mirrored, with which bytes. */
function mirrored(state: MirrorState): unknown {
  const strip = (entries: MirrorState["entries"] = {}) =>
    Object.fromEntries(
      Object.entries(entries)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, { sha256, size, formula, tag }]) => [key, { sha256, size, formula, tag }]),
    );
  const api = Object.fromEntries(
    Object.entries(state.api ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, { sha256, size }]) => [key, { sha256, size }]),
  );
  return { entries: strip(state.entries), manifests: strip(state.manifests), api };
}

async function singleProcessState(): Promise<MirrorState> {
  const store = new FsStore(join(work, `single-${++targets}`));
  const { api, registry } = await clients();
  const { report } = await syncMirror({ store, api, registry, settings, runId: "single" });
  expect(report.status).toBe("succeeded");
  return loadState(store);
}

async function report(store: BlobStore, runId: string): Promise<RunReport> {
  const text = await readText(store, runReportKey(runId));
  if (text === null) throw new Error(`no report for ${runId}`);
  return JSON.parse(text) as RunReport;
}

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const object of store.list(prefix)) found.push(object.key);
  return found;
}

describe("runtime/run-shard", () => {
  describe("runShard (three ECS task processes)", () => {
    it.each([
      ["a folder", folderTarget],
      ["s3rver", s3Target],
    ])(
      "merges three shards into %s: the state a single-process sync writes, the API once",
      async (_where, make) => {
        const target = make();
        const expected = await singleProcessState();

        const { shards, bottles } = await plan(target, "run-sharded");
        expect(shards).toEqual([0, 1, 2].map((index) => ({ index, count: 3 })));
        expect(await target.store.stat("api/formula.jws.json")).toBeNull();
        const codes = await runTasks(target, "run-sharded", shards);

        expect(codes).toEqual([0, 0, 0]);
        const state = await loadState(target.store);
        expect(mirrored(state)).toEqual(mirrored(expected));
        const run = await report(target.store, "run-sharded");
        expect(run.status).toBe("succeeded");
        expect(run.counts.planned).toBe(bottles);
        expect(run.counts.transferred).toBe(bottles);
        expect(run.counts.apiPublished).toBe(Object.keys(expected.api ?? {}).length);
        // Published after every bottle: its state record is the newest, and (folder) its file too.
        const newestBottle = Math.max(...Object.values(state.entries).map((e) => Date.parse(e.syncedAt)));
        for (const [key, file] of Object.entries(state.api ?? {})) {
          expect(Date.parse(file.syncedAt), key).toBeGreaterThanOrEqual(newestBottle);
          if (target.root) {
            const apiTime = (await stat(join(target.root, key))).mtimeMs;
            for (const bottle of Object.keys(state.entries)) {
              expect((await stat(join(target.root, bottle))).mtimeMs).toBeLessThanOrEqual(apiTime);
            }
          }
        }
        expect(await keys(target.store, PARTS_PREFIX)).toEqual([]);
        expect(await readLease(target.store)).toBeNull();
      },
    );

    it("fails the run when a shard's task is killed, publishes nothing, and the next run resumes", async () => {
      const target = folderTarget();
      const expected = await singleProcessState();
      upstream().resetStats();
      const first = await plan(target, "run-killed", 1500);
      const stored = await readPlan(target.store, "run-killed");
      const victim = stored.transfers.filter((ref) => shardOf(ref.formula, 3) === 1);
      const stuck = victim[victim.length - 1];
      if (!stuck) throw new Error("shard 2 of 3 has no bottles: change the synthetic index");
      // One bottle of shard 2 answers after a minute: its task is still on it when it is killed.
      upstream().faults.inject({
        match: stuck.sha256,
        host: "blob",
        fault: { kind: "slow", delayMs: 60_000 },
      });

      const tasks = first.shards.map((shard) => startTask(target, "run-killed", shard));
      const others = await Promise.all([tasks[0]?.exit, tasks[2]?.exit]);
      tasks[1]?.child.kill("SIGKILL");
      await tasks[1]?.exit;

      expect(others.map((result) => result?.code)).toEqual([0, 0]);
      expect(await target.store.stat("api/formula.jws.json")).toBeNull();
      // Nobody renews the run's lease any more: the next schedule may take it once it expires.
      for (let waited = 0; waited < 100; waited++) {
        const lease = await readLease(target.store);
        if (lease === null || Date.parse(lease.expiresAt) < Date.now()) break;
        await delay(100);
      }
      upstream().faults.clear();
      const requestsBefore = new Map(upstream().stats.requests);

      const second = await plan(target, "run-resume", 1500);

      const failed = await report(target.store, "run-killed");
      expect(failed.status).toBe("failed");
      expect(failed.errors).toEqual([
        {
          key: "run",
          message:
            "shard 2 of 3 did not succeed (shard 2: its task stopped before writing its part); nothing was published, and the next run resumes from the bottles the shards stored",
        },
      ]);
      expect(await target.store.stat("api/formula.jws.json")).toBeNull();
      // What shards 1 and 3 stored is in the state: the new plan moves only shard 2's bottles.
      const resumed = await readPlan(target.store, "run-resume");
      expect(resumed.transfers.map((ref) => ref.key).sort()).toEqual(victim.map((ref) => ref.key).sort());
      expect(second.bottles).toBe(victim.length);

      expect(await runTasks(target, "run-resume", second.shards)).toEqual([0, 0, 0]);
      expect((await report(target.store, "run-resume")).status).toBe("succeeded");
      expect(mirrored(await loadState(target.store))).toEqual(mirrored(expected));
      // No bottle of the shards that finished was downloaded again.
      const redone = [...upstream().stats.requests.entries()].filter(
        ([path, count]) =>
          path.includes("/blobs/") &&
          count > (requestsBefore.get(path) ?? 0) &&
          !victim.some((ref) => path.includes(ref.sha256)),
      );
      expect(redone).toEqual([]);
      expect(await readLease(target.store)).toBeNull();
    });

    it("fails the run as soon as the last part is in when a part failed, in one line, nothing published", async () => {
      const target = folderTarget();
      const first = await plan(target, "run-bad-part");
      const stored = await readPlan(target.store, "run-bad-part");
      const bad = stored.transfers.find((ref) => shardOf(ref.formula, 3) === 0);
      if (!bad) throw new Error("shard 1 of 3 has no bottles: change the synthetic index");
      upstream().faults.inject({
        match: bad.sha256,
        host: "blob",
        times: Number.POSITIVE_INFINITY,
        fault: { kind: "corrupt" },
      });
      const deps = { ...(await shardDeps(target.store)), retry: { retries: 0 } };

      const outcomes = [];
      for (const shard of first.shards) outcomes.push(await runShard(deps, { runId: "run-bad-part", shard }));
      upstream().faults.clear();

      expect(outcomes.map((outcome) => outcome.status)).toEqual(["part", "part", "finished"]);
      const failed = await report(target.store, "run-bad-part");
      expect(failed.status).toBe("failed");
      expect(failed.errors).toHaveLength(1);
      expect(failed.errors[0]?.message).toMatch(
        new RegExp(
          `^shard 1 of 3 did not succeed \\(shard 1: ${bad.key}: corrupted on transfer: sha256 differs \\(expected ${bad.sha256}, got [0-9a-f]{64}\\) for ${bad.key} \\(after 1 attempt\\(s\\)\\)\\); nothing was published, and the next run resumes from the bottles the shards stored$`,
        ),
      );
      expect(await target.store.stat("api/formula.jws.json")).toBeNull();
      expect(await readLease(target.store)).toBeNull();
      // Everything but the corrupted bottle is recorded: the next run moves that one alone.
      const next = await plan(target, "run-after-bad-part");
      expect((await readPlan(target.store, "run-after-bad-part")).transfers.map((ref) => ref.key)).toEqual([
        bad.key,
      ]);
      expect(next.bottles).toBe(1);
      // A task started with another shard count than the plan's is refused before any transfer.
      await expect(
        runShard(deps, { runId: "run-after-bad-part", shard: { index: 0, count: 2 } }),
      ).rejects.toThrow(
        "run run-after-bad-part was planned for 3 task(s), but this task was started as shard 1 of 2",
      );
    });

    it("records again a bottle the store lost and a shard fetched again (the plan's forgotten keys)", async () => {
      const target = folderTarget();
      const deps = await shardDeps(target.store);
      const first = await plan(target, "run-full");
      for (const shard of first.shards) await runShard(deps, { runId: "run-full", shard });
      const lost = Object.keys((await loadState(target.store)).entries).sort()[0] ?? "";
      await target.store.delete(lost);

      const again = await plan(target, "run-refetch");
      expect((await readPlan(target.store, "run-refetch")).forgotten).toEqual([lost]);
      const outcomes = [];
      for (const shard of again.shards) outcomes.push(await runShard(deps, { runId: "run-refetch", shard }));

      expect(outcomes.at(-1)?.status).toBe("finished");
      expect((await report(target.store, "run-refetch")).status).toBe("succeeded");
      expect((await loadState(target.store)).entries[lost]).toBeDefined();
      expect(await target.store.stat(lost)).not.toBeNull();
    });

    it("ends a shard whose store is full with a failed part, never writing the shared state", async () => {
      const target = folderTarget();
      const first = await plan(target, "run-full-disk");
      let bottlePuts = 0;
      const full = new Proxy(target.store, {
        get(store, property) {
          if (property === "put") {
            return async (...args: Parameters<BlobStore["put"]>) => {
              if (args[0].startsWith("bottles/") && ++bottlePuts > 1) {
                throw new StorageFullError(store.location, "ENOSPC", { key: args[0] });
              }
              return store.put(...args);
            };
          }
          const value: unknown = Reflect.get(store, property, store);
          return typeof value === "function" ? value.bind(store) : value;
        },
      });
      const shard = first.shards[0];
      if (!shard) throw new Error("no shard");

      const outcome = await runShard(await shardDeps(full), { runId: "run-full-disk", shard });

      expect(outcome.status).toBe("part");
      expect(await target.store.stat(STATE_KEY)).toBeNull();
      const part = await readPart(target.store, "run-full-disk", shard.index);
      expect(part?.status).toBe("failed");
      expect(part?.error).toMatch(/no space left on .* \(ENOSPC\)/);
      expect(await target.store.stat(partKey("run-full-disk", shard.index))).not.toBeNull();
    });
  });
});
