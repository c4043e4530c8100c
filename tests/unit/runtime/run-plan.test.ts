import { describe, expect, it } from "vitest";
import { acquireLock, LOCK_KEY, readLease } from "../../../src/mirror/lock.ts";
import { planKey } from "../../../src/mirror/prepare.ts";
import { runReportKey } from "../../../src/mirror/report.ts";
import { loadState } from "../../../src/mirror/state.ts";
import type { NotifyEvent } from "../../../src/notify/index.ts";
import type { Dispatcher, WorkerPayload } from "../../../src/runtime/dispatch.ts";
import { type OrchestrateDeps, orchestrate } from "../../../src/runtime/orchestrate.ts";
import { progressKey, type RunPlanDeps, readProgress, runPlan } from "../../../src/runtime/run-plan.ts";
import { memoryTelemetry } from "../../../src/runtime/telemetry.ts";
import { fakeUpstream, instantRetry, settings } from "../mirror/fake-upstream.ts";
import { casMemoryStore, type MemoryStore, memoryStore } from "../mirror/memory-store.ts";

// Unit tests of the runtime core with the engine's in-memory store and in-process upstream (the HTTP
// emulator, s3rver and the real handlers are exercised in tests/integration/runtime). The dispatcher is
// a recording fake: the AWS request shapes are checked in dispatch.test.ts.

interface Harness {
  store: MemoryStore;
  upstream: ReturnType<typeof fakeUpstream>;
  events: NotifyEvent[];
  invocations: WorkerPayload[];
  tasks: string[];
  orchestrateDeps: OrchestrateDeps;
  runDeps: RunPlanDeps;
}

function harness(
  names = ["wget", "openssl@3"],
  thresholdBytes = 1024 ** 3,
  store: MemoryStore = memoryStore(),
): Harness {
  const upstream = fakeUpstream(names);
  const events: NotifyEvent[] = [];
  const invocations: WorkerPayload[] = [];
  const tasks: string[] = [];
  const dispatcher: Dispatcher = {
    invokeWorker: async (payload) => {
      invocations.push(payload);
    },
    runTask: async (runId) => {
      tasks.push(runId);
      return { taskArn: `arn:task/${runId}` };
    },
  };
  const notifier = { send: async (event: NotifyEvent) => events.push(event) };
  const common = { store, registry: upstream.registry, notifier, environment: "dev", leaseMs: 30 * 60_000 };
  return {
    store,
    upstream,
    events,
    invocations,
    tasks,
    orchestrateDeps: {
      ...common,
      api: upstream.api,
      settings: settings(),
      dispatcher,
      telemetry: memoryTelemetry(),
      thresholdBytes,
      owner: "test:orchestrator",
    },
    runDeps: { ...common, telemetry: memoryTelemetry(), owner: "test:worker", retry: instantRetry() },
  };
}

/** A Lambda context clock: plenty of time at the start of each invocation, then under the margin. */
function shortInvocation(): () => number {
  let calls = 0;
  return () => (calls++ === 0 ? 600_000 : 60_000);
}

describe("runtime/orchestrate", () => {
  describe("orchestrate", () => {
    it("plans, stages the verified API, keeps the lock for the worker and invokes it", async () => {
      const h = harness();

      const outcome = await orchestrate(h.orchestrateDeps, "run-1");

      expect(outcome).toMatchObject({ route: "lambda", runId: "run-1", bottles: 4 });
      expect(h.invocations).toEqual([{ runId: "run-1", continuation: 0 }]);
      expect(h.tasks).toEqual([]);
      expect(h.store.objects.has(planKey("run-1"))).toBe(true);
      expect(h.store.objects.has("_sync/plans/run-1/api/formula.jws.json")).toBe(true);
      expect((await readLease(h.store))?.runId).toBe("run-1");
      expect(h.upstream.blobRequests).toEqual([]);
      expect(h.events.map((event) => event.type)).toEqual(["sync_started"]);
    });

    it("runs the ECS task when the bytes to move exceed the threshold", async () => {
      const h = harness(["wget", "openssl@3"], 100);

      const outcome = await orchestrate(h.orchestrateDeps, "run-2");

      expect(outcome).toMatchObject({ route: "ecs", taskArn: "arn:task/run-2" });
      expect(h.tasks).toEqual(["run-2"]);
      expect(h.invocations).toEqual([]);
    });

    it("records an up-to-date run itself, releases the lock and says so", async () => {
      const h = harness();
      await orchestrate(h.orchestrateDeps, "run-1");
      await runPlan(h.runDeps, { runId: "run-1", continuation: 0 });
      h.events.length = 0;

      const outcome = await orchestrate(h.orchestrateDeps, "run-2");

      expect(outcome).toMatchObject({ route: "none", bottles: 0 });
      expect(h.invocations).toHaveLength(1);
      expect(h.store.objects.has(runReportKey("run-2"))).toBe(true);
      expect(await readLease(h.store)).toBeNull();
      expect(h.events.map((event) => event.type)).toEqual(["up_to_date"]);
    });

    it("leaves the mirror settled after a worker's run and after each up-to-date run (src/mirror/settled.ts)", async () => {
      const h = harness();
      await orchestrate(h.orchestrateDeps, "run-1");
      await runPlan({ ...h.runDeps, sliceSize: 1 }, { runId: "run-1", continuation: 0 });
      const settled = (await loadState(h.store)).settled;
      expect(settled?.formulaeCount).toBe(2);

      for (const runId of ["run-2", "run-3"]) {
        expect(await orchestrate(h.orchestrateDeps, runId)).toMatchObject({ route: "none", bottles: 0 });
        expect((await loadState(h.store)).settled).toEqual(settled);
      }
    });

    it("lists the store beside the index download, and only once while no run wrote the state", async () => {
      // A store with entity tags (as S3 has): what was read before the lease is used after it.
      const h = harness(undefined, undefined, casMemoryStore());
      await orchestrate(h.orchestrateDeps, "run-1");
      await runPlan(h.runDeps, { runId: "run-1", continuation: 0 });
      let listings = 0;
      let listed = (): void => {};
      const listing = new Promise<void>((resolve) => {
        listed = resolve;
      });
      const list = h.store.list.bind(h.store);
      h.store.list = (prefix) => {
        if (prefix === "bottles/") {
          listings++;
          listed();
        }
        return list(prefix);
      };
      // The download takes until the store is listed (or a second, if it never is meanwhile).
      let listedDuringDownload = false;
      const fetchIndex = h.upstream.api.fetchIndex;
      h.orchestrateDeps.api = {
        ...h.upstream.api,
        fetchIndex: async () => {
          const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 1000).unref());
          listedDuringDownload = await Promise.race([listing.then(() => true), timeout]);
          return fetchIndex();
        },
      };

      expect(await orchestrate(h.orchestrateDeps, "run-2")).toMatchObject({ route: "none", bottles: 0 });

      expect(listedDuringDownload).toBe(true);
      expect(listings).toBe(1);
    });

    it("skips the schedule without writing when another run holds the lock", async () => {
      const h = harness();
      await acquireLock(h.store, { runId: "other", leaseMs: 60_000 });
      const writes = h.store.writes.length;

      const outcome = await orchestrate(h.orchestrateDeps, "run-3");

      expect(outcome).toEqual({ route: "locked", runId: "run-3", holder: "other" });
      expect(h.store.writes.length).toBe(writes);
    });

    it("releases the lock and notifies the failure when the hand-over fails", async () => {
      const h = harness();
      h.orchestrateDeps.dispatcher.invokeWorker = async () => {
        throw new Error("Rate exceeded");
      };

      await expect(orchestrate(h.orchestrateDeps, "run-4")).rejects.toThrow("Rate exceeded");

      expect(await readLease(h.store)).toBeNull();
      expect(h.events.at(-1)).toMatchObject({ type: "sync_summary", status: "failed" });
    });
  });
});

describe("runtime/run-plan", () => {
  describe("runPlan", () => {
    it("pauses between slices near the deadline and completes over several invocations, downloading each bottle once", async () => {
      const h = harness();
      await orchestrate(h.orchestrateDeps, "run-1");
      const deps = { ...h.runDeps, sliceSize: 1 };

      const outcomes = [];
      let payload: WorkerPayload | undefined = { runId: "run-1", continuation: 0 };
      while (payload) {
        const outcome = await runPlan(deps, {
          ...payload,
          requestId: `req-${payload.continuation}`,
          timeLeftMs: shortInvocation(),
        });
        outcomes.push(outcome.status);
        payload = outcome.status === "paused" ? outcome.next : undefined;
      }

      expect(outcomes).toEqual(["paused", "paused", "paused", "finished"]);
      expect(h.upstream.blobRequests).toHaveLength(4);
      expect(new Set(h.upstream.blobRequests).size).toBe(4);
      const report = JSON.parse(h.store.objects.get(runReportKey("run-1"))?.bytes.toString() ?? "{}");
      expect(report).toMatchObject({ status: "succeeded", counts: { planned: 4, transferred: 4 } });
      expect(h.store.objects.has("api/formula.jws.json")).toBe(true);
      expect(await readLease(h.store)).toBeNull();
      expect((await readProgress(h.store, "run-1"))?.finishedAt).toBeDefined();
      expect(
        [...h.store.objects.keys()].filter((key) => key.includes("/claims/") || key.includes("/slices/")),
      ).toEqual([]);
      expect(h.events.at(-1)).toMatchObject({ type: "sync_summary", status: "succeeded", newBottles: 4 });
    });

    it("does nothing for a run that already finished", async () => {
      const h = harness();
      await orchestrate(h.orchestrateDeps, "run-1");
      await runPlan(h.runDeps, { runId: "run-1", continuation: 0, requestId: "a" });
      const writes = h.store.writes.length;

      const outcome = await runPlan(h.runDeps, { runId: "run-1", continuation: 0, requestId: "a" });

      expect(outcome.status).toBe("skipped");
      expect(h.store.writes.length).toBe(writes);
      expect(h.upstream.blobRequests).toHaveLength(4);
    });

    it("skips a duplicate delivery of a continuation another invocation claimed", async () => {
      const h = harness();
      await orchestrate(h.orchestrateDeps, "run-1");
      await h.store.putIfAbsent("_sync/plans/run-1/claims/0.json", JSON.stringify({ requestId: "first" }));

      const outcome = await runPlan(h.runDeps, { runId: "run-1", continuation: 0, requestId: "second" });

      expect(outcome).toMatchObject({ status: "skipped" });
      expect(h.upstream.blobRequests).toEqual([]);
    });

    it("resumes when Lambda retries the same request after a crash", async () => {
      const h = harness();
      await orchestrate(h.orchestrateDeps, "run-1");
      await h.store.putIfAbsent("_sync/plans/run-1/claims/0.json", JSON.stringify({ requestId: "same" }));

      const outcome = await runPlan(h.runDeps, { runId: "run-1", continuation: 0, requestId: "same" });

      expect(outcome.status).toBe("finished");
    });

    it("leaves a run alone once another run holds the lock", async () => {
      const h = harness();
      await orchestrate(h.orchestrateDeps, "run-1");
      await h.store.delete(LOCK_KEY);
      await acquireLock(h.store, { runId: "newer", leaseMs: 60_000 });

      const outcome = await runPlan(h.runDeps, { runId: "run-1", continuation: 0 });

      expect(outcome).toMatchObject({ status: "skipped" });
      expect(h.upstream.blobRequests).toEqual([]);
      expect((await readLease(h.store))?.runId).toBe("newer");
    });

    it("finishes as failed without publishing when a bottle keeps failing, and frees the lock", async () => {
      const h = harness();
      await orchestrate(h.orchestrateDeps, "run-1");
      h.upstream.faults.set(h.upstream.shaOf("wget", "x86_64_linux"), Array(20).fill("503"));

      const outcome = await runPlan({ ...h.runDeps, sliceSize: 2 }, { runId: "run-1", continuation: 0 });

      expect(outcome.status).toBe("finished");
      if (outcome.status !== "finished") return;
      expect(outcome.report.status).toBe("failed");
      expect(outcome.report.counts.transferred).toBe(3);
      expect(outcome.report.errors.map((error) => error.key)).toEqual([
        "bottles/wget-1.0.x86_64_linux.bottle.tar.gz",
      ]);
      expect(h.store.objects.has("api/formula.jws.json")).toBe(false);
      expect(await readLease(h.store)).toBeNull();
      expect(JSON.parse(h.store.objects.get(progressKey("run-1"))?.bytes.toString() ?? "{}").status).toBe(
        "failed",
      );
    });

    it("records an interrupted ECS run as failed and frees the lock when asked to abandon on stop", async () => {
      const h = harness();
      await orchestrate(h.orchestrateDeps, "run-1");
      const controller = new AbortController();
      controller.abort(new Error("SIGTERM received"));

      const outcome = await runPlan(h.runDeps, {
        runId: "run-1",
        continuation: 0,
        signal: controller.signal,
        onStop: "abandon",
      });

      expect(outcome.status).toBe("finished");
      if (outcome.status !== "finished") return;
      expect(outcome.report.status).toBe("failed");
      expect(outcome.report.errors[0]?.message).toMatch(/interrupted: SIGTERM received/);
      expect(await readLease(h.store)).toBeNull();
    });
  });
});
