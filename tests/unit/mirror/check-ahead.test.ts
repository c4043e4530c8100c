import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SignatureError } from "../../../src/homebrew/errors.ts";
import { StateError } from "../../../src/mirror/errors.ts";
import { type CheckedAhead, checkAhead } from "../../../src/mirror/prepare.ts";
import { loadState, STATE_KEY, saveState } from "../../../src/mirror/state.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { type FakeUpstream, fakeUpstream, NOW, prepareFrom, syncFrom } from "./fake-upstream.ts";

/**
 * checkAhead (src/mirror/prepare.ts): the state is read and the store checked before the lease, beside
 * the index download. What holds it safe: the result is used only while the state's entity tag is the
 * one taken before the read; otherwise prepareSync reads and checks again under the lease.
 */

describe("mirror/prepare checkAhead", () => {
  let root = "";
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "hbsync-ahead-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** An FsStore counting its `sizes` calls (each is one check of every recorded object). */
  function countingStore(): FsStore & { checks: number } {
    const store = Object.assign(new FsStore(root), { checks: 0 });
    const sizes = store.sizes.bind(store);
    store.sizes = async (keys) => {
      store.checks++;
      return sizes(keys);
    };
    return store;
  }

  const runSync = (store: FsStore, upstream: FakeUpstream, runId = "first") =>
    syncFrom(store, upstream, runId);

  const prepare = (store: FsStore, upstream: FakeUpstream, ahead: CheckedAhead | undefined) =>
    prepareFrom(store, upstream, "second", { ahead: Promise.resolve(ahead) });

  it("is used while the state is as it was read: one check in all", async () => {
    const store = countingStore();
    const upstream = fakeUpstream(["wget", "curl"]);
    await runSync(store, upstream);
    store.checks = 0;

    const ahead = await checkAhead(store);
    const prepared = await prepare(store, upstream, ahead);

    expect(ahead?.etag).toBe((await store.stat(STATE_KEY))?.etag);
    expect(prepared.state).toBe(ahead?.state);
    expect(store.checks).toBe(1);
    expect(prepared.plan.transfers).toEqual([]);
  });

  it("is not used once another run wrote the state: read and checked again under the lease", async () => {
    const store = countingStore();
    const upstream = fakeUpstream(["wget", "curl"]);
    await runSync(store, upstream);
    const ahead = await checkAhead(store);
    // Another run, between the early read and this run's lease, forgot a bottle (a repair, say).
    const written = await loadState(store);
    const [forgotten] = Object.keys(written.entries);
    if (forgotten === undefined) throw new Error("the first sync stored no bottle");
    delete written.entries[forgotten];
    await saveState(store, written, NOW);
    store.checks = 0;

    const prepared = await prepare(store, upstream, ahead);

    expect(prepared.state).not.toBe(ahead?.state);
    expect(prepared.state.entries[forgotten]).toBeUndefined();
    expect(prepared.plan.transfers.map((transfer) => transfer.key)).toEqual([forgotten]);
    expect(store.checks).toBe(1);
  });

  it("gives nothing for a state it cannot read (one caught mid-write); the read under the lease says why", async () => {
    const store = new FsStore(root);
    const upstream = fakeUpstream(["wget"]);
    await runSync(store, upstream);
    await writeFile(join(root, STATE_KEY), '{"version": 1, "entries": {"bottles/x');

    expect(await checkAhead(store)).toBeUndefined();
    await expect(prepare(store, upstream, undefined)).rejects.toBeInstanceOf(StateError);
  });

  it("is stopped when the run's index fails: the check does not outlive the run", async () => {
    const store = new FsStore(root);
    const upstream = fakeUpstream(["wget", "curl"]);
    await runSync(store, upstream);
    const sizes = store.sizes.bind(store);
    let checking: AbortSignal | undefined;
    let started = (): void => {};
    const checkStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    store.sizes = async (keys, options) => {
      checking = options?.signal;
      started();
      return sizes(keys, options);
    };
    // The index fails while the early check is under way.
    upstream.api.fetchIndex = async () => {
      await checkStarted;
      throw new SignatureError("signature mismatch (injected)");
    };

    await expect(runSync(store, upstream, "second")).rejects.toBeInstanceOf(SignatureError);

    expect(checking?.aborted).toBe(true);
    await expect(store.sizes(["bottles/x"], { signal: checking as AbortSignal })).rejects.toThrow();
  });

  it("reads no state as the empty one, and uses it while there is still none", async () => {
    const store = countingStore();
    const upstream = fakeUpstream(["wget"]);

    const ahead = await checkAhead(store);
    const prepared = await prepare(store, upstream, ahead);

    expect(ahead?.etag).toBeNull();
    expect(prepared.state).toBe(ahead?.state);
    expect(prepared.plan.transfers).toHaveLength(2);
  });
});
