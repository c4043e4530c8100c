/**
 * The worker core (what the worker Lambda and the ECS task run) after a crash, against the emulator and
 * s3rver: an invocation that dies mid-plan (here: the mirror bucket refuses the state write once) is
 * retried by Lambda with the same event and request id, and the retry completes the run without
 * downloading a bottle twice — the crashed invocation checkpoints what it finished on its way out, and
 * any bottle stored but not recorded is adopted after a re-hash.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HomebrewApiClient } from "../../../src/homebrew/api-client.ts";
import { loadTrustedKey } from "../../../src/homebrew/keys.ts";
import { RegistryClient } from "../../../src/homebrew/registry-client.ts";
import { ACCEPTED_API_RECORD } from "../../../src/mirror/accepted-api.ts";
import { readLease } from "../../../src/mirror/lock.ts";
import { loadState, readText, STATE_KEY } from "../../../src/mirror/state.ts";
import { silentNotifier } from "../../../src/runtime/events.ts";
import { orchestrate } from "../../../src/runtime/orchestrate.ts";
import { runPlan } from "../../../src/runtime/run-plan.ts";
import { memoryTelemetry } from "../../../src/runtime/telemetry.ts";
import type { BlobStore } from "../../../src/storage/blob-store.ts";
import { S3Store } from "../../../src/storage/s3.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";
import { blobsRequestedTwice } from "./helpers.ts";

const upstream = withEmulator({ fixtures: false, synthetic: { formulae: 6, tags: ["x86_64_linux"] } });
let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(() => s3?.close());

/** The bucket, except that the `failOn`-th write of the state fails like a dropped connection. */
function crashingOnStateWrite(store: BlobStore, failOn: number): BlobStore {
  let writes = 0;
  return new Proxy(store, {
    get(target, property) {
      if (property === "put") {
        return async (...args: Parameters<BlobStore["put"]>) => {
          if (args[0] === STATE_KEY && ++writes === failOn) throw new Error("socket hang up (injected)");
          return target.put(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A mirror in the bucket under `prefix`, the real clients against the emulator, one tag. */
async function mirrorRun(prefix: string) {
  const store = new S3Store({ bucket: s3.bucket, prefix, clientConfig: s3.clientConfig });
  const registry = new RegistryClient({ registryBase: upstream().registry });
  const api = new HomebrewApiClient({
    apiBase: upstream().api,
    trustedKey: await loadTrustedKey(upstream().publicKeyPath),
  });
  const settings = {
    tags: ["x86_64_linux"],
    include: [],
    exclude: [],
    retentionDays: 7,
    concurrency: { checkers: 2, transfers: 2 },
  };
  const common = { registry, notifier: silentNotifier, environment: "test", leaseMs: 30 * 60_000 };
  return { store, api, settings, common };
}

describe("runtime/run-plan", () => {
  describe("orchestrate", () => {
    it("records the API files it verified, and on the next run does not check those bytes again", async () => {
      const { store, api, settings, common } = await mirrorRun("accepted");
      const deps = (telemetry: ReturnType<typeof memoryTelemetry>) => ({
        ...common,
        store,
        api,
        settings,
        telemetry,
        thresholdBytes: 1024 ** 3,
        owner: "test:orchestrator",
        dispatcher: { invokeWorker: async () => {}, runTask: async () => ({}) },
      });
      const first = memoryTelemetry();
      await orchestrate(deps(first), "run-a");
      await runPlan(
        { ...common, store, telemetry: memoryTelemetry(), owner: "w" },
        { runId: "run-a", continuation: 0 },
      );
      const second = memoryTelemetry();

      expect(await orchestrate(deps(second), "run-b")).toMatchObject({ route: "none" });

      const verified = (t: ReturnType<typeof memoryTelemetry>) =>
        t.lines.find((line) => line.message === "index verified")?.keys;
      const files = Number(verified(first)?.apiFiles);
      expect(files).toBeGreaterThan(0);
      expect(verified(first)).toMatchObject({ unchangedSinceVerified: 0 });
      expect(verified(second)).toMatchObject({ apiFiles: files, unchangedSinceVerified: files });
      const record = JSON.parse((await readText(store, ACCEPTED_API_RECORD)) ?? "{}");
      expect(record.trust).toBe(api.trust);
      expect(Object.keys(record.files)).toHaveLength(files);
      await store.close?.();
    });
  });

  describe("runPlan", () => {
    it("completes on Lambda's retry after an invocation crashed mid-plan, downloading nothing twice", async () => {
      const { store, api, settings, common } = await mirrorRun("crash");
      const invocations: string[] = [];
      await orchestrate(
        {
          ...common,
          store,
          api,
          settings,
          telemetry: memoryTelemetry(),
          thresholdBytes: 1024 ** 3,
          owner: "test:orchestrator",
          dispatcher: {
            invokeWorker: async (payload) => {
              invocations.push(payload.runId);
            },
            runTask: async () => ({}),
          },
        },
        "run-crash",
      );
      upstream().resetStats();
      const request = { runId: "run-crash", continuation: 0, requestId: "lambda-request-1" };

      // The second state write is the one after the second slice's bottles are stored.
      const crashing = {
        ...common,
        store: crashingOnStateWrite(store, 2),
        telemetry: memoryTelemetry(),
        owner: "a",
        sliceSize: 2,
      };
      await expect(runPlan(crashing, request)).rejects.toThrow("socket hang up (injected)");
      const afterCrash = upstream().stats.blobRequests;
      // The crashed slice still checkpointed the state (its finished bottles are recorded, not redone).
      const recordedByCrash = Object.keys((await loadState(store)).entries).length;

      const retry = await runPlan(
        { ...common, store, telemetry: memoryTelemetry(), owner: "b", sliceSize: 2 },
        request,
      );

      expect(invocations).toEqual(["run-crash"]);
      expect(afterCrash).toBeGreaterThanOrEqual(4);
      expect(afterCrash).toBeLessThan(6);
      expect(retry.status).toBe("finished");
      if (retry.status !== "finished") return;
      expect(retry.report.status).toBe("succeeded");
      expect(recordedByCrash).toBeGreaterThanOrEqual(2);
      expect(retry.report.counts.transferred + retry.report.counts.adopted).toBeLessThanOrEqual(6);
      expect(upstream().stats.blobRequests).toBe(6);
      expect(blobsRequestedTwice(upstream())).toEqual([]);
      expect(await store.stat("api/formula.jws.json")).not.toBeNull();
      expect(await readLease(store)).toBeNull();
      await store.close?.();
    });
  });
});
