import { describe, expect, it } from "vitest";
import { SignatureError } from "../../../src/homebrew/errors.ts";
import { LockHeldError, RunFailedError, RunOutOfSpaceError } from "../../../src/mirror/errors.ts";
import { executePlan } from "../../../src/mirror/execute.ts";
import { LOCK_KEY } from "../../../src/mirror/lock.ts";
import { prepareSync, readPlan, writePlan } from "../../../src/mirror/prepare.ts";
import { type RunReport, runReportKey } from "../../../src/mirror/report.ts";
import { loadState, STATE_KEY, saveState } from "../../../src/mirror/state.ts";
import { syncMirror } from "../../../src/mirror/sync.ts";
import { StorageError } from "../../../src/storage/errors.ts";
import { fakeUpstream, instantRetry, NOW, settings, syncFrom } from "./fake-upstream.ts";
import { memoryStore } from "./memory-store.ts";

function run(
  store: ReturnType<typeof memoryStore>,
  upstream: ReturnType<typeof fakeUpstream>,
  runId = "run-1",
  delays: number[] = [],
) {
  return syncFrom(store, upstream, runId, { retry: instantRetry(delays) });
}

/** `run` with checkpoints every completion, gated by `saveIntervalMs`. */
function runCheckpointing(
  store: ReturnType<typeof memoryStore>,
  upstream: ReturnType<typeof fakeUpstream>,
  saveIntervalMs: number,
) {
  return syncFrom(store, upstream, "run-1", { saveEvery: 1, saveIntervalMs });
}

/** The plan of run "split", written with its API files staged and read back, as a worker in another process does. */
async function writtenPlan(store: ReturnType<typeof memoryStore>, upstream: ReturnType<typeof fakeUpstream>) {
  const prepared = await prepareSync({
    store,
    api: upstream.api,
    registry: upstream.registry,
    settings: settings(),
    runId: "split",
    now: () => NOW,
  });
  await writePlan(store, prepared, { stageApiFiles: true });
  return readPlan(store, "split");
}

describe("mirror/sync", () => {
  describe("syncMirror", () => {
    it("mirrors every bottle, its manifest, then the API files, state and run report", async () => {
      const store = memoryStore();
      const upstream = fakeUpstream(["wget", "openssl@3"]);

      const { report } = await run(store, upstream);

      expect(report.status).toBe("succeeded");
      expect(report.counts.transferred).toBe(4);
      for (const [sha256, bytes] of upstream.bytes) {
        const key = [...store.objects.keys()].find(
          (k) => k.startsWith("bottles/") && store.objects.get(k)?.bytes.equals(bytes),
        );
        expect(key, sha256).toBeDefined();
      }
      expect(store.objects.has("bottles/openssl@3-1.0.arm64_sequoia.bottle.tar.gz")).toBe(true);
      expect(store.objects.has("bottles/openssl/3/manifests/1.0")).toBe(true);
      expect(
        store.objects
          .get("api/formula.jws.json")
          ?.bytes.equals(Buffer.from(upstream.apiFiles[0]?.bytes ?? "")),
      ).toBe(true);
      expect(store.objects.has("api/internal/packages.x86_64_linux.jws.json")).toBe(true);
      expect(store.objects.has(LOCK_KEY)).toBe(false);
      expect(store.objects.has("_sync/runs/run-1.json")).toBe(true);
      const state = await loadState(store);
      expect(Object.keys(state.entries)).toHaveLength(4);
      // API files are written after every bottle and manifest.
      const writes = store.writes.filter((w) => w.startsWith("put "));
      const firstApi = writes.findIndex((w) => w.startsWith("put api/"));
      const lastBottle = writes.findLastIndex((w) => w.startsWith("put bottles/"));
      expect(firstApi).toBeGreaterThan(lastBottle);
    });

    it("writes a manifest beside the next transfers (not in its bottle's slot), and publishes only once every one is in", async () => {
      const store = memoryStore();
      const events: string[] = [];
      const put = store.put.bind(store);
      let bottleStarted: () => void = () => undefined;
      store.put = async (key, body, options) => {
        if (key.includes("/manifests/")) {
          events.push(`manifest ${key}`);
          // Held until another bottle starts (or 300 ms: then it starts only after, the old way).
          await Promise.race([
            new Promise<void>((resolve) => {
              bottleStarted = resolve;
            }),
            new Promise((resolve) => setTimeout(resolve, 300)),
          ]);
          const result = await put(key, body, options);
          events.push(`manifest stored ${key}`);
          return result;
        }
        if (key.startsWith("bottles/")) {
          events.push(`bottle ${key}`);
          bottleStarted();
        }
        if (key.startsWith("api/")) events.push(`api ${key}`);
        return put(key, body, options);
      };
      const upstream = fakeUpstream(["wget", "openssl@3"]);

      const { report } = await syncFrom(store, upstream, "run-1", {
        settings: settings({ concurrency: { checkers: 2, transfers: 1 } }),
      });

      expect(report.status).toBe("succeeded");
      const first = events.findIndex((e) => e.startsWith("manifest bottles/"));
      const firstStored = events.findIndex((e) => e.startsWith("manifest stored"));
      // A bottle transfer started while the first manifest was still being written.
      expect(events.slice(first, firstStored).some((e) => e.startsWith("bottle "))).toBe(true);
      const lastManifest = events.findLastIndex((e) => e.startsWith("manifest stored"));
      const firstApi = events.findIndex((e) => e.startsWith("api "));
      expect(events.filter((e) => e.startsWith("manifest stored"))).toHaveLength(2);
      expect(firstApi).toBeGreaterThan(lastManifest);
    });

    it("flushes bottles and manifests to disk before the API names them, and everything before the state", async () => {
      const store = memoryStore();
      const unflushedAt = new Map<string, string[]>();
      const put = store.put.bind(store);
      store.put = (key, body, options) => {
        if (!unflushedAt.has(key)) unflushedAt.set(key, [...store.unflushed]);
        return put(key, body, options);
      };

      const { report } = await run(store, fakeUpstream(["wget", "openssl@3"]));

      expect(report.status).toBe("succeeded");
      // Bulk objects are written without a per-object fsync (deferSync)…
      const bottle = "bottles/openssl@3-1.0.arm64_sequoia.bottle.tar.gz";
      expect([...unflushedAt.values()].some((keys) => keys.includes(bottle))).toBe(true);
      // …and are all flushed before the first API file and before the state is written.
      const firstApi = [...unflushedAt.keys()].find((key) => key.startsWith("api/")) ?? "";
      expect(unflushedAt.get(firstApi)).toEqual([]);
      expect(unflushedAt.get(STATE_KEY)).toEqual([]);
      expect(store.unflushed.size).toBe(0);
    });

    it("checkpoints the state during transfers only after saveEvery completions AND saveIntervalMs", async () => {
      const statePuts = async (saveIntervalMs: number): Promise<number> => {
        const store = memoryStore();
        const upstream = fakeUpstream(["wget", "openssl@3", "rust", "llvm"]);
        const { report } = await runCheckpointing(store, upstream, saveIntervalMs);
        expect(report.status).toBe("succeeded");
        return store.writes.filter((write) => write === `put ${STATE_KEY}`).length;
      };

      // The run itself saves once at the end (no prune here); every checkpoint is one more.
      expect(await statePuts(60_000)).toBe(1);
      expect(await statePuts(0)).toBeGreaterThan(1);
    });

    it("fails the run, naming the state, when a checkpoint cannot be written (no transfer waits for it)", async () => {
      const store = memoryStore();
      const put = store.put.bind(store);
      let statePuts = 0;
      store.put = (key, body, options) => {
        if (key === STATE_KEY && ++statePuts === 1) return Promise.reject(new Error("disk full"));
        return put(key, body, options);
      };
      const upstream = fakeUpstream(["wget", "openssl@3"]);

      const { report } = await runCheckpointing(store, upstream, 0);

      expect(report.status).toBe("failed");
      expect(report.errors).toContainEqual(
        expect.objectContaining({ key: STATE_KEY, message: expect.stringContaining("disk full") }),
      );
      expect(report.counts.transferred).toBe(4);
      expect(store.objects.has("api/formula.jws.json")).toBe(false);
    });

    it("makes zero blob requests on a no-op re-sync and leaves the API untouched", async () => {
      const store = memoryStore();
      const upstream = fakeUpstream(["wget"]);
      await run(store, upstream, "run-1");
      upstream.blobRequests.length = 0;
      upstream.manifestRequests.length = 0;

      const { report } = await run(store, upstream, "run-2");

      expect(upstream.blobRequests).toEqual([]);
      expect(upstream.manifestRequests).toEqual([]);
      expect(report.counts.kept).toBe(2);
      expect(report.counts.apiPublished).toBe(0);
      expect(report.counts.apiUnchanged).toBe(3);
    });

    it("says in its publish line how many API files changed and how many are unchanged", async () => {
      const store = memoryStore();
      const upstream = fakeUpstream(["wget"]);
      const publishLine = async (runId: string) => {
        const details: string[] = [];
        const { report } = await syncFrom(store, upstream, runId, {
          onProgress: (event) => {
            if (event.type === "phase" && event.phase === "publish") details.push(event.detail ?? "");
          },
        });
        return { details, report };
      };

      const first = await publishLine("run-1");
      const [apiKey] = [...store.objects.keys()].filter((key) => key.startsWith("api/"));
      await store.delete(apiKey as string);
      const second = await publishLine("run-2");
      const third = await publishLine("run-3");

      expect(first.details).toEqual(["3 of 3 API files changed (0 unchanged)"]);
      expect(second.details).toEqual(["1 of 3 API files changed (2 unchanged)"]);
      expect(second.report.counts).toMatchObject({ apiPublished: 1, apiUnchanged: 2 });
      expect(third.details).toEqual(["3 API files, all unchanged"]);
      expect(third.report.counts).toMatchObject({ apiPublished: 0, apiUnchanged: 3 });
    });

    it("adopts a bottle already stored (killed run) after a re-hash instead of downloading it", async () => {
      const upstream = fakeUpstream(["wget"]);
      const sha = upstream.shaOf("wget", "arm64_sequoia");
      const store = memoryStore({
        "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz": upstream.bytes.get(sha) ?? "",
      });

      const { report } = await run(store, upstream);

      expect(report.counts.adopted).toBe(1);
      expect(report.counts.transferred).toBe(1);
      expect(upstream.blobRequests).toEqual([`wget@${upstream.shaOf("wget", "x86_64_linux")}`]);
    });

    it("looks for an object to adopt only where the planning listing found one (no stat per new bottle)", async () => {
      const upstream = fakeUpstream(["wget"]);
      const sha = upstream.shaOf("wget", "arm64_sequoia");
      const kept = "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz";
      const store = memoryStore({ [kept]: upstream.bytes.get(sha) ?? "" });
      const statted: string[] = [];
      const stat = store.stat.bind(store);
      store.stat = (key) => {
        if (key.endsWith(".tar.gz")) statted.push(key);
        return stat(key);
      };

      const { report } = await run(store, upstream);

      expect(report.counts).toMatchObject({ adopted: 1, transferred: 1 });
      expect(statted).toEqual([kept]);
    });

    it("re-downloads a stored object whose bytes do not re-hash to the indexed sha256", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore({ "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz": "garbage" });

      const { report } = await run(store, upstream);

      expect(report.counts.adopted).toBe(0);
      expect(report.counts.transferred).toBe(2);
      const sha = upstream.shaOf("wget", "arm64_sequoia");
      expect(
        store.objects
          .get("bottles/wget-1.0.arm64_sequoia.bottle.tar.gz")
          ?.bytes.equals(upstream.bytes.get(sha) ?? Buffer.alloc(0)),
      ).toBe(true);
    });

    it("retries 503, 429 (honouring Retry-After), corrupted and truncated bodies, then stores verified bytes", async () => {
      const store = memoryStore();
      const upstream = fakeUpstream(["wget"]);
      upstream.faults.set(upstream.shaOf("wget", "arm64_sequoia"), ["503", "429", "corrupt"]);
      upstream.faults.set(upstream.shaOf("wget", "x86_64_linux"), ["truncate"]);
      const delays: number[] = [];

      const { report } = await run(store, upstream, "run-1", delays);

      expect(report.status).toBe("succeeded");
      expect(report.counts.transferred).toBe(2);
      expect(upstream.blobRequests).toHaveLength(6);
      expect(delays).toHaveLength(4);
      expect(Math.max(...delays)).toBeGreaterThanOrEqual(7000);
    });

    it("on a failed transfer records what succeeded, publishes no API and prunes nothing", async () => {
      const upstream = fakeUpstream(["wget", "curl"]);
      const store = memoryStore();
      const oldKey = "bottles/gone-0.1.arm64_sequoia.bottle.tar.gz";
      await store.put(oldKey, "old");
      await saveState(store, {
        version: 1,
        updatedAt: NOW.toISOString(),
        entries: {
          [oldKey]: {
            sha256: "0".repeat(64),
            size: 3,
            formula: "gone",
            tag: "arm64_sequoia",
            syncedAt: "2025-01-01T00:00:00Z",
            supersededAt: "2025-01-02T00:00:00Z",
          },
        },
      });
      upstream.faults.set(upstream.shaOf("curl", "arm64_sequoia"), [
        "corrupt",
        "corrupt",
        "corrupt",
        "corrupt",
      ]);

      const { report } = await run(store, upstream);

      expect(report.status).toBe("failed");
      expect(report.errors).toHaveLength(1);
      expect(report.errors[0]?.key).toBe("bottles/curl-1.0.arm64_sequoia.bottle.tar.gz");
      expect(report.errors[0]?.message).toContain("corrupted on transfer: sha256 differs");
      expect(store.objects.has("bottles/curl-1.0.arm64_sequoia.bottle.tar.gz")).toBe(false);
      expect([...store.objects.keys()].filter((key) => key.startsWith("api/"))).toEqual([]);
      expect(store.objects.has(oldKey)).toBe(true);
      const state = await loadState(store);
      expect(Object.keys(state.entries).sort()).toEqual(
        [
          oldKey,
          "bottles/curl-1.0.x86_64_linux.bottle.tar.gz",
          "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz",
          "bottles/wget-1.0.x86_64_linux.bottle.tar.gz",
        ].sort(),
      );
      const saved = JSON.parse(
        store.objects.get("_sync/runs/run-1.json")?.bytes.toString() ?? "{}",
      ) as RunReport;
      expect(saved.status).toBe("failed");
    });

    /** A mirror holding one bottle superseded past the retention and one still current. */
    async function withExpiredBottle(store: ReturnType<typeof memoryStore>) {
      const expired = "bottles/gone-0.1.arm64_sequoia.bottle.tar.gz";
      const fresh = "bottles/wget-0.9.arm64_sequoia.bottle.tar.gz";
      await store.put(expired, "old");
      await store.put(fresh, "previous");
      const entry = {
        sha256: "0".repeat(64),
        size: 3,
        formula: "x",
        tag: "arm64_sequoia",
        syncedAt: "2025-01-01T00:00:00Z",
      };
      await saveState(store, {
        version: 1,
        updatedAt: NOW.toISOString(),
        entries: {
          [expired]: { ...entry, supersededAt: "2026-03-01T00:00:00.000Z" },
          [fresh]: { ...entry, size: "previous".length },
        },
      });
      return { expired, fresh };
    }

    it("prunes superseded bottles past the retention after a successful run, and marks new ones superseded", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore();
      const { expired, fresh } = await withExpiredBottle(store);

      const { report } = await run(store, upstream);

      expect(report.counts.pruned).toBe(1);
      expect(store.objects.has(expired)).toBe(false);
      expect(store.objects.has(fresh)).toBe(true);
      const state = await loadState(store);
      expect(state.entries[expired]).toBeUndefined();
      expect(state.entries[fresh]?.supersededAt).toBe(NOW.toISOString());
    });

    it("transfers again a bottle the state records but the store lost (deleted by hand)", async () => {
      const upstream = fakeUpstream(["wget", "openssl@3"]);
      const store = memoryStore();
      await run(store, upstream);
      const lost = "bottles/openssl@3-1.0.arm64_sequoia.bottle.tar.gz";
      const manifest = "bottles/openssl/3/manifests/1.0";
      store.objects.delete(lost);
      store.objects.delete(manifest);
      upstream.blobRequests.length = 0;

      const { report } = await run(store, upstream, "run-2");

      expect(report.status).toBe("succeeded");
      expect(report.counts.transferred).toBe(1);
      expect(upstream.blobRequests).toEqual([`openssl/3@${upstream.shaOf("openssl@3", "arm64_sequoia")}`]);
      expect(store.objects.has(lost)).toBe(true);
      expect(store.objects.has(manifest)).toBe(true);
      expect((await loadState(store)).entries[lost]?.size).toBe(store.objects.get(lost)?.bytes.length);
    });

    it("forgets a superseded bottle that was deleted by hand instead of recording it forever", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore();
      const { expired } = await withExpiredBottle(store);
      store.objects.delete(expired);

      const { report } = await run(store, upstream);

      expect(report.status).toBe("succeeded");
      expect(report.counts.pruned).toBe(0);
      expect((await loadState(store)).entries[expired]).toBeUndefined();
    });

    it("prunes nothing when another run took the lease over after this one published", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore();
      const { expired } = await withExpiredBottle(store);
      const thief = { runId: "thief", owner: "host:2", expiresAt: "2026-03-10T13:00:00.000Z" };
      const put = store.put.bind(store);
      // The takeover lands right after the run report is written (publishing is done, pruning next).
      store.put = async (key, body, options) => {
        const result = await put(key, body, options);
        if (key.startsWith("_sync/runs/")) await put(LOCK_KEY, JSON.stringify(thief));
        return result;
      };

      const { report } = await run(store, upstream);

      expect(report.status).toBe("succeeded");
      expect(report.counts.pruned).toBe(0);
      expect(store.objects.has(expired)).toBe(true);
      expect(store.objects.get(LOCK_KEY)?.bytes.toString()).toBe(JSON.stringify(thief));
    });

    it("stops on a bad signature before any write", async () => {
      const upstream = fakeUpstream(["wget"]);
      upstream.api.fetchIndex = async () => {
        throw new SignatureError("signature does not verify");
      };
      const store = memoryStore();

      await expect(run(store, upstream)).rejects.toBeInstanceOf(SignatureError);
      expect(store.writes).toEqual([]);
      expect(upstream.blobRequests).toEqual([]);
    });

    it("refuses to run while another run holds the lease, without writing", async () => {
      const upstream = fakeUpstream(["wget"]);
      const lease = { runId: "other", owner: "host:1", expiresAt: "2026-03-10T13:00:00.000Z" };
      const store = memoryStore({ [LOCK_KEY]: JSON.stringify(lease) });

      const error = await run(store, upstream).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(LockHeldError);
      expect((error as LockHeldError).kind).toBe("locked");
      expect((error as Error).message).toContain("run other, owner host:1");
      expect(store.writes).toEqual([]);
    });

    it("stops before publishing when another run took the lease over mid-run", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore();
      const thief = { runId: "thief", owner: "host:2", expiresAt: "2026-03-10T13:00:00.000Z" };
      const blob = upstream.registry.blob;
      // The takeover happens between two renewals (the default lease renews every 200 s).
      upstream.registry.blob = async (image, digest) => {
        await store.put(LOCK_KEY, JSON.stringify(thief));
        return blob(image, digest);
      };

      const { report } = await run(store, upstream);

      expect(report.status).toBe("failed");
      expect(report.errors.map((error) => error.message).join("\n")).toContain("lost the sync lock");
      expect([...store.objects.keys()].filter((key) => key.startsWith("api/"))).toEqual([]);
      expect(store.objects.get(LOCK_KEY)?.bytes.toString()).toBe(JSON.stringify(thief));
    });

    it("publishes no API naming the bottles of a rejected formula unless the config excludes it", async () => {
      const upstream = fakeUpstream(["wget", "curl"]);
      const curl = upstream.formulae.find((formula) => formula.name === "curl");
      if (curl) curl.versions.stable = "1/0";
      const store = memoryStore();

      const { report } = await run(store, upstream);

      expect(report.status).toBe("failed");
      expect(report.rejected.map((entry) => entry.name)).toEqual(["curl"]);
      expect(report.errors.map((error) => error.key)).toContain("curl");
      expect([...store.objects.keys()].filter((key) => key.startsWith("api/"))).toEqual([]);
      expect(store.objects.has("bottles/wget-1.0.arm64_sequoia.bottle.tar.gz")).toBe(true);

      const excluded = await syncFrom(store, upstream, "run-2", {
        settings: settings({ exclude: ["curl"] }),
      });
      expect(excluded.report.status).toBe("succeeded");
      expect(store.objects.has("api/formula.jws.json")).toBe(true);
    });

    it("plans without writing anything on a dry run", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore();

      const { report, plan } = await syncMirror({
        store,
        api: upstream.api,
        registry: upstream.registry,
        settings: settings(),
        runId: "dry",
        dryRun: true,
      });

      expect(report.status).toBe("dry-run");
      expect(plan.transfers).toHaveLength(2);
      expect(plan.totals.bytes).toBe([...upstream.bytes.values()].reduce((sum, b) => sum + b.length, 0));
      expect(store.writes).toEqual([]);
    });
  });

  describe("publishing the API", () => {
    it("puts the API files several at once, after every bottle, and records each", async () => {
      const store = memoryStore();
      const upstream = fakeUpstream(["wget", "curl"]);
      const put = store.put.bind(store);
      let inFlight = 0;
      let most = 0;
      let bottlesBefore = -1;
      store.put = async (key, body, options) => {
        if (!key.startsWith("api/")) return put(key, body, options);
        if (bottlesBefore < 0) bottlesBefore = store.writes.filter((w) => w.includes(".bottle.")).length;
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inFlight--;
        return put(key, body, options);
      };

      const { report, plan } = await run(store, upstream, "publish");

      expect(report.counts.apiPublished).toBe(plan.api.length);
      expect(plan.api.length).toBeGreaterThan(1);
      expect(most).toBe(Math.min(plan.api.length, 4));
      expect(bottlesBefore).toBe(plan.transfers.length);
      expect(Object.keys((await loadState(store)).api ?? {}).sort()).toEqual(
        plan.api.map((r) => r.key).sort(),
      );
    });
  });

  describe("a store that fills up", () => {
    it("holds back room for the state as it will be at the end and the report, not a copy per recorded object", async () => {
      const store = memoryStore();
      const names = Array.from({ length: 40 }, (_, i) => `f${String(i).padStart(2, "0")}`);
      await run(store, fakeUpstream(names.slice(0, 30)), "first");
      const before = store.objects.get(STATE_KEY)?.bytes.length ?? 0;
      const held: number[] = [];
      store.reserve = async (bytes) => {
        held.push(bytes);
        return true;
      };
      store.releaseReserve = async () => {};

      const { plan } = await run(store, fakeUpstream(names), "second");

      const after = store.objects.get(STATE_KEY)?.bytes.length ?? 0;
      const report = store.objects.get(runReportKey("second"))?.bytes.length ?? 0;
      const added = plan.transfers.length + plan.manifests.length;
      expect(added).toBeGreaterThan(0);
      expect(held).toEqual([256 * 1024 + Math.ceil(before * 1.25) + added * 512]);
      expect(held[0]).toBeGreaterThan(after + report);
    });

    it("starts no transfer after the first ENOSPC; a StorageError with the space still needed; state and report kept; lease released", async () => {
      const store = memoryStore();
      const names = Array.from({ length: 12 }, (_, i) => `f${String(i).padStart(2, "0")}`);
      const upstream = fakeUpstream(names);
      const put = store.put.bind(store);
      let bottlesStored = 0;
      // Room for 3 bottles; the state, report and lock still fit (what the fs store's reserve is for).
      store.put = async (key, body, options) => {
        if (key.includes(".bottle.")) {
          if (bottlesStored >= 3) {
            throw Object.assign(new Error("ENOSPC: no space left on device, write"), {
              code: "ENOSPC",
              errno: -28,
              syscall: "write",
            });
          }
          bottlesStored++;
        }
        return put(key, body, options);
      };

      const error = await run(store, upstream, "full").catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(RunOutOfSpaceError);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as RunOutOfSpaceError).kind).toBe("failed");
      // Every bottle is planned (its size from its manifest, read beside the transfers), and the API.
      const plan = await readPlan(store, "full");
      const bottles = [...upstream.bytes.values()].reduce((sum, body) => sum + body.length, 0);
      const planned = bottles + plan.api.reduce((sum, ref) => sum + ref.size, 0);
      const state = await loadState(store);
      const stored = Object.values(state.entries).reduce((sum, entry) => sum + entry.size, 0);
      expect(Object.keys(state.entries)).toHaveLength(3);
      expect((error as RunOutOfSpaceError).neededBytes).toBe(planned - stored);
      expect((error as Error).message).toMatch(
        /^sync full stopped: no space left on memory:\/\/test \(ENOSPC\); it needs .+ more free space \(.+ planned, .+ stored\); state saved, report: _sync\/runs\/full\.json$/,
      );
      // 24 bottles planned, 2 at a time: the 3 stored, the one that failed and at most one more in flight.
      expect(upstream.blobRequests.length).toBeLessThanOrEqual(5);
      const report = JSON.parse(
        store.objects.get(runReportKey("full"))?.bytes.toString() ?? "{}",
      ) as RunReport;
      expect(report.status).toBe("failed");
      expect(report.errors.some((entry) => /^\d+ transfer\(s\) not started: /.test(entry.message))).toBe(
        true,
      );
      expect(store.objects.has(LOCK_KEY)).toBe(false);
      expect([...store.objects.keys()].some((key) => key.startsWith("api/"))).toBe(false);
    });
  });

  describe("an error no phase expected", () => {
    it("ends the run as failed: state checkpointed, report written, lease released, one line", async () => {
      const store = memoryStore();
      const upstream = fakeUpstream(["wget", "openssl@3"]);
      const put = store.put.bind(store);
      store.put = async (key, body, options) => {
        if (key.startsWith("api/")) throw new TypeError("the store broke mid-publish");
        return put(key, body, options);
      };

      const error = await run(store, upstream, "broken").catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(RunFailedError);
      expect((error as Error).message).toBe(
        "sync broken failed: TypeError: the store broke mid-publish (report: _sync/runs/broken.json)",
      );
      const report = JSON.parse(
        store.objects.get(runReportKey("broken"))?.bytes.toString() ?? "{}",
      ) as RunReport;
      expect(report.status).toBe("failed");
      expect(report.errors).toContainEqual({ key: "(run)", message: "the store broke mid-publish" });
      expect(Object.keys((await loadState(store)).entries)).toHaveLength(4);
      expect(store.objects.has(LOCK_KEY)).toBe(false);
    });
  });

  describe("the manifests, read beside the transfers", () => {
    /** The upstream's registry with slow manifests, and each event in order. */
    function slowManifests(upstream: ReturnType<typeof fakeUpstream>, events: string[], failing = "") {
      return {
        ...upstream.registry,
        manifest: async (image: string, reference: string) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (image === failing) throw Object.assign(new Error(`HTTP 404 for ${image}`), { status: 404 });
          events.push(`manifest read ${image}`);
          return upstream.registry.manifest(image, reference);
        },
      };
    }

    it("starts the transfers before the last manifest is read; each put has its manifest's size", async () => {
      const upstream = fakeUpstream(["a1", "b2", "c3", "d4"]);
      const store = memoryStore();
      const events: string[] = [];
      const sizes = new Map<string, number | undefined>();
      const put = store.put.bind(store);
      store.put = (key, body, options) => {
        if (key.includes(".bottle.")) {
          events.push(`bottle put ${key}`);
          sizes.set(key, options?.size);
        }
        return put(key, body, options);
      };
      const totals: number[] = [];

      const { report, plan } = await syncFrom(store, upstream, "beside", {
        registry: slowManifests(upstream, events),
        settings: settings({ concurrency: { checkers: 1, transfers: 1 } }),
        onProgress: (event) => {
          if (event.type === "bytes") totals.push(event.totalBytes);
        },
      });

      expect(report.status).toBe("succeeded");
      // Written before any manifest was read: no sizes yet, and the executor told to wait for them.
      expect(plan.manifestsBeside).toBe(true);
      expect(plan.totals.unknownSizes).toBe(plan.transfers.length);
      const lastRead = events.findLastIndex((event) => event.startsWith("manifest read"));
      expect(events.findIndex((event) => event.startsWith("bottle put"))).toBeLessThan(lastRead);
      // Every put knew its size (S3 needs it for one PUT), and every byte is counted as planned.
      const body = (key: string) =>
        upstream.bytes.get(plan.transfers.find((t) => t.key === key)?.sha256 ?? "");
      for (const [key, size] of sizes) expect(size, key).toBe(body(key)?.length);
      const all = [...upstream.bytes.values()].reduce((sum, bytes) => sum + bytes.length, 0);
      expect(report.bytes.planned).toBe(all);
      expect(totals.at(-1)).toBe(all);
      expect(report.counts.manifestsStored).toBe(4);
    });

    it("still transfers the bottles of a manifest that cannot be read, and does not publish", async () => {
      const upstream = fakeUpstream(["a1", "b2"]);
      const store = memoryStore();
      const events: string[] = [];

      const { report } = await syncFrom(store, upstream, "beside-404", {
        registry: slowManifests(upstream, events, "b2"),
      });

      expect(report.status).toBe("failed");
      expect(report.errors.map((error) => error.key)).toEqual([
        expect.stringMatching(/^bottles\/b2\/manifests\//),
      ]);
      // Its bottles did not wait forever for a size: they are stored (for the next run), the API is not.
      expect(report.counts.transferred).toBe(upstream.bytes.size);
      expect([...store.objects.keys()].some((key) => key.startsWith("api/"))).toBe(false);
    });
  });

  describe("executePlan", () => {
    it("executes a plan written by another process, publishing the staged API bytes", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore();
      const plan = await writtenPlan(store, upstream);
      const report = await executePlan({ store, registry: upstream.registry, plan, now: () => NOW });

      expect(report.status).toBe("succeeded");
      expect(report.counts.transferred).toBe(2);
      expect(
        store.objects
          .get("api/formula.jws.json")
          ?.bytes.equals(Buffer.from(upstream.apiFiles[0]?.bytes ?? "")),
      ).toBe(true);
      expect([...store.objects.keys()].filter((key) => key.startsWith("_sync/plans/split/"))).toEqual([]);
      expect(store.objects.has(STATE_KEY)).toBe(true);
    });

    it("reads the manifests a written plan lacks beside the transfers, storing each after its bottles", async () => {
      const upstream = fakeUpstream(["wget", "openssl@3"]);
      const store = memoryStore();
      const plan = await writtenPlan(store, upstream); // no manifests: a worker in another process
      const events: string[] = [];
      const registry = {
        ...upstream.registry,
        manifest: async (image: string, reference: string) => {
          events.push(`manifest asked ${image}`);
          await new Promise((resolve) => setTimeout(resolve, 100)); // slow: the transfers go on meanwhile
          events.push(`manifest read ${image}`);
          return upstream.registry.manifest(image, reference);
        },
      };
      const put = store.put.bind(store);
      store.put = (key, body, options) => {
        if (key.startsWith("bottles/"))
          events.push(`${key.includes("/manifests/") ? "manifest" : "bottle"} put ${key}`);
        return put(key, body, options);
      };

      const report = await executePlan({ store, registry, plan, now: () => NOW });

      expect(report.status).toBe("succeeded");
      expect(report.counts.manifestsStored).toBe(2);
      const firstRead = events.findIndex((e) => e.startsWith("manifest read"));
      expect(events.slice(0, firstRead).filter((e) => e.startsWith("bottle put"))).toHaveLength(4);
      // Each manifest lands after both of its bottles.
      for (const [image, bottle] of [
        ["openssl/3", "bottles/openssl@3-"],
        ["wget", "bottles/wget-"],
      ] as const) {
        const manifest = events.findIndex((e) => e.startsWith(`manifest put bottles/${image}/manifests/`));
        const lastBottle = events.findLastIndex((e) => e.startsWith(`bottle put ${bottle}`));
        expect(manifest, image).toBeGreaterThan(lastBottle);
      }
    });

    it("writes its report where reportKey says, leaving the run's report key alone", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore();
      const prepared = await prepareSync({
        store,
        api: upstream.api,
        registry: upstream.registry,
        settings: settings(),
        runId: "sliced",
        now: () => NOW,
      });
      const plan = await writePlan(store, prepared);

      await executePlan({
        store,
        registry: upstream.registry,
        plan,
        apiFiles: prepared.apiFiles,
        now: () => NOW,
        reportKey: "_sync/plans/sliced/slices/0.json",
      });

      expect(store.objects.has("_sync/plans/sliced/slices/0.json")).toBe(true);
      expect(store.objects.has(runReportKey("sliced"))).toBe(false);
    });
  });
});
