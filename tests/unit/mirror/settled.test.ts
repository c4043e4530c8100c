import { describe, expect, it } from "vitest";
import type { ApiIndex } from "../../../src/homebrew/api-client.ts";
import { executePlan, PLANS_KEPT } from "../../../src/mirror/execute.ts";
import type { MirrorSettings } from "../../../src/mirror/prepare.ts";
import { PLANS_PREFIX, readPlan } from "../../../src/mirror/prepare.ts";
import { loadState, saveState } from "../../../src/mirror/state.ts";
import { syncMirror } from "../../../src/mirror/sync.ts";
import {
  type FakeUpstream,
  fakeUpstream,
  instantRetry,
  NOW,
  prepareFrom,
  settings,
} from "./fake-upstream.ts";
import { memoryStore } from "./memory-store.ts";

/**
 * A settled mirror (src/mirror/settled.ts): a re-sync from the same signed files and selection skips
 * parsing the index and planning. What these tests hold it to: it plans exactly what a full plan
 * would, and every change that could make the two differ makes the run plan in full.
 */
const DAY = 24 * 60 * 60 * 1000;

interface Counted {
  upstream: FakeUpstream;
  /** Reads of the index's entries (what a settled run never does). */
  reads: number;
}

/** The fake upstream, counting each read of the index's parsed entries. */
function counted(names: string[], options: { version?: string } = {}): Counted {
  const upstream = fakeUpstream(names, options);
  const result: Counted = { upstream, reads: 0 };
  const fetchIndex = upstream.api.fetchIndex;
  upstream.api.fetchIndex = async (): Promise<ApiIndex> => {
    const index = await fetchIndex();
    return {
      files: index.files,
      missing: index.missing,
      get formulae() {
        result.reads++;
        return index.formulae;
      },
      get rejected() {
        result.reads++;
        return index.rejected;
      },
    };
  };
  return result;
}

function sync(
  store: ReturnType<typeof memoryStore>,
  upstream: FakeUpstream,
  runId: string,
  options: { now?: Date; settings?: MirrorSettings; replan?: boolean } = {},
) {
  const phases: string[] = [];
  const result = syncMirror({
    store,
    api: upstream.api,
    registry: upstream.registry,
    settings: options.settings ?? settings(),
    runId,
    now: () => options.now ?? NOW,
    retry: instantRetry(),
    onProgress: (event) => {
      if (event.type === "phase" && event.phase === "plan") phases.push(event.detail ?? "");
    },
    ...(options.replan ? { replan: true } : {}),
  });
  return result.then((value) => ({
    ...value,
    plan: value.plan,
    settled: phases.some((p) => p.startsWith("settled")),
  }));
}

const sorted = (keys: readonly string[]) => [...keys].sort();

describe("mirror/settled", () => {
  it("re-syncs an unchanged upstream without reading the index's entries, planning what a full plan plans", async () => {
    const store = memoryStore();
    const source = counted(["wget", "curl", "openssl@3"]);
    const first = await sync(store, source.upstream, "run-1");
    expect(first.settled).toBe(false);
    expect((await loadState(store)).settled?.formulaeCount).toBe(3);
    source.reads = 0;

    const settledRun = await sync(store, source.upstream, "run-2");
    expect(settledRun.settled).toBe(true);
    expect(source.reads).toBe(0);
    expect(source.upstream.blobRequests).toHaveLength(6);

    const full = await sync(store, source.upstream, "run-3", { replan: true });
    expect(full.settled).toBe(false);
    expect(source.reads).toBeGreaterThan(0);
    for (const field of ["transfers", "manifests", "supersede", "prunes", "rejected"] as const) {
      expect(settledRun.plan[field]).toEqual([]);
      expect(full.plan[field]).toEqual([]);
    }
    expect(sorted(settledRun.plan.keeps)).toEqual(sorted(full.plan.keeps));
    expect(sorted(settledRun.plan.manifestKeeps)).toEqual(sorted(full.plan.manifestKeeps));
    expect(settledRun.plan.sources).toEqual(full.plan.sources);
    expect(settledRun.report.counts).toEqual(full.report.counts);
    expect(settledRun.report.status).toBe("succeeded");
    expect(settledRun.plan.inputs).toBe(full.plan.inputs);
    expect((await readPlan(store, "run-2")).keeps).toHaveLength(6);
  });

  it("plans in full when the upstream publishes a new version, then is settled again", async () => {
    const store = memoryStore();
    await sync(store, counted(["wget", "curl"]).upstream, "run-1");
    const bumped = counted(["wget", "curl"], { version: "2.0" });

    const changed = await sync(store, bumped.upstream, "run-2");
    expect(changed.settled).toBe(false);
    expect(changed.report.counts.transferred).toBe(4);
    expect(changed.report.counts.superseded).toBe(6);

    const again = await sync(store, bumped.upstream, "run-3");
    expect(again.settled).toBe(true);
    expect(again.report.counts.kept).toBe(4);
    // The superseded 1.0 bottles stay superseded: not kept, not marked again.
    expect(again.report.counts.superseded).toBe(0);
    const state = await loadState(store);
    expect(Object.values(state.entries).filter((entry) => entry.supersededAt !== undefined)).toHaveLength(4);
  });

  it("plans in full when the selection changes (exclude, tags)", async () => {
    const store = memoryStore();
    const source = counted(["wget", "curl"]);
    await sync(store, source.upstream, "run-1");

    const excluded = await sync(store, source.upstream, "run-2", {
      settings: settings({ exclude: ["curl"] }),
    });
    expect(excluded.settled).toBe(false);
    expect(excluded.report.counts.superseded).toBe(3);

    const oneTag = await sync(store, source.upstream, "run-3", {
      settings: settings({ exclude: ["curl"], tags: ["x86_64_linux"] }),
    });
    expect(oneTag.settled).toBe(false);
    expect(oneTag.report.counts.kept).toBe(1);
  });

  it("plans in full when only the tags change, also where the same signed files are fetched for both", async () => {
    const store = memoryStore();
    const source = counted(["wget", "curl"]);
    // A v1-only upstream: no per-tag files, so both tag sets fetch exactly formula.jws.json.
    source.upstream.api.fetchInternalPackages = async () => null;
    await sync(store, source.upstream, "run-1");

    const oneTag = await sync(store, source.upstream, "run-2", {
      settings: settings({ tags: ["x86_64_linux"] }),
    });

    expect(oneTag.settled).toBe(false);
    expect(oneTag.report.counts.kept).toBe(2);
    expect(oneTag.report.counts.superseded).toBe(2);
  });

  it("plans in full when a superseded bottle's retention has run out, and prunes it", async () => {
    const store = memoryStore();
    await sync(store, counted(["wget", "curl"]).upstream, "run-1");
    const without = counted(["wget"]);
    await sync(store, without.upstream, "run-2");
    const soon = await sync(store, without.upstream, "run-3", { now: new Date(NOW.getTime() + 6 * DAY) });
    expect(soon.settled).toBe(true);
    expect(soon.report.counts.pruned).toBe(0);

    const later = await sync(store, without.upstream, "run-4", { now: new Date(NOW.getTime() + 8 * DAY) });

    expect(later.settled).toBe(false);
    expect(later.report.counts.pruned).toBe(3);
    expect([...store.objects.keys()].filter((key) => key.includes("curl"))).toEqual([]);
  });

  it("records nothing settled after a failed run: the next run plans in full and fetches what failed", async () => {
    const store = memoryStore();
    const source = counted(["wget", "curl"]);
    source.upstream.faults.set(source.upstream.shaOf("curl", "x86_64_linux"), Array(4).fill("corrupt"));

    const failed = await sync(store, source.upstream, "run-1");
    expect(failed.report.status).toBe("failed");
    expect((await loadState(store)).settled).toBeUndefined();

    const next = await sync(store, source.upstream, "run-2");
    expect(next.settled).toBe(false);
    expect(next.report.counts.transferred).toBe(1);
    expect((await loadState(store)).settled).toBeDefined();
  });

  it("drops the record on any other write of the state, and when an object is missing from the store", async () => {
    const store = memoryStore();
    const source = counted(["wget", "curl"]);
    await sync(store, source.upstream, "run-1");

    await saveState(store, await loadState(store), NOW);
    expect((await loadState(store)).settled).toBeUndefined();
    expect((await sync(store, source.upstream, "run-2")).settled).toBe(false);

    store.objects.delete("bottles/curl-1.0.x86_64_linux.bottle.tar.gz");
    const missing = await sync(store, source.upstream, "run-3");
    expect(missing.settled).toBe(false);
    expect(missing.report.counts.transferred).toBe(1);
  });

  it("is recorded only by an execution that carries out the whole plan (not a slice or a shard)", async () => {
    const store = memoryStore();
    const { upstream } = counted(["wget"]);
    const prepare = (runId: string) => prepareFrom(store, upstream, runId);

    const part = await prepare("part");
    await executePlan({
      store,
      registry: upstream.registry,
      plan: part.plan,
      apiFiles: part.apiFiles,
      now: () => NOW,
    });
    expect((await loadState(store)).settled).toBeUndefined();

    const whole = await prepare("whole");
    await executePlan({
      store,
      registry: upstream.registry,
      plan: whole.plan,
      apiFiles: whole.apiFiles,
      now: () => NOW,
      settles: true,
    });
    expect((await loadState(store)).settled?.inputs).toBe(whole.plan.inputs);
  });

  it(`keeps the plans of the newest ${PLANS_KEPT} earlier runs and deletes older ones with what they staged`, async () => {
    const store = memoryStore();
    const { upstream } = counted(["wget"]);
    for (let i = 0; i < PLANS_KEPT + 3; i++) {
      await sync(store, upstream, `run-${String(i).padStart(2, "0")}`, {
        now: new Date(NOW.getTime() + i * 1000),
      });
    }
    await store.put(`${PLANS_PREFIX}run-00/api/formula.jws.json`, "staged");
    const clock = new Date(NOW.getTime() + 3600 * 1000);

    await sync(store, upstream, "run-last", { now: clock });

    const plans = [...store.objects.keys()].filter((key) => key.startsWith(PLANS_PREFIX)).sort();
    expect(plans).toHaveLength(PLANS_KEPT + 1);
    expect(plans).toContain(`${PLANS_PREFIX}run-last.json`);
    expect(plans.some((key) => key.startsWith(`${PLANS_PREFIX}run-00`))).toBe(false);
  });
});
