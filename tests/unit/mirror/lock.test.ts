import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { LockHeldError, MirrorError } from "../../../src/mirror/errors.ts";
import {
  acquireLock,
  currentProcess,
  LOCK_KEY,
  readLease,
  releaseLock,
  resumeLease,
} from "../../../src/mirror/lock.ts";
import { casMemoryStore, memoryStore } from "./memory-store.ts";

const T0 = new Date("2026-03-10T12:00:00.000Z");
const at = (ms: number) => () => new Date(T0.getTime() + ms);

describe("mirror/lock", () => {
  describe("acquireLock", () => {
    it("takes the lease with create-if-absent and records run, owner and expiry", async () => {
      const store = memoryStore();

      await acquireLock(store, { runId: "a", owner: "host:1", leaseMs: 60_000, now: at(0) });

      expect(store.writes).toEqual([`putIfAbsent ${LOCK_KEY}`]);
      expect(await readLease(store)).toEqual({
        runId: "a",
        owner: "host:1",
        expiresAt: "2026-03-10T12:01:00.000Z",
      });
    });

    it("refuses a second run while the lease is live, naming the holder and the way out", async () => {
      const store = memoryStore();
      await acquireLock(store, { runId: "a", owner: "host:1", leaseMs: 60_000, now: at(0) });

      const error = await acquireLock(store, { runId: "b", owner: "host:2", now: at(1000) }).catch(
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(LockHeldError);
      expect((error as LockHeldError).kind).toBe("locked");
      expect((error as LockHeldError).message).toBe(
        "another sync (run a, owner host:1) holds the lock until 2026-03-10T12:01:00.000Z",
      );
      expect((error as LockHeldError).fix).toBe(
        "try later; if that run is dead, `hbsync unlock --dest …` shows the holder of _sync/lock and releases it",
      );
    });

    it("takes over an expired lease, and only one of two racing takers wins", async () => {
      const store = memoryStore();
      await acquireLock(store, { runId: "dead", owner: "host:1", leaseMs: 60_000, now: at(0) });

      const results = await Promise.allSettled([
        acquireLock(store, { runId: "b", owner: "host:2", now: at(120_000) }),
        acquireLock(store, { runId: "c", owner: "host:3", now: at(120_000) }),
      ]);

      expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
      const loser = results.find((result) => result.status === "rejected");
      expect((loser as PromiseRejectedResult).reason).toBeInstanceOf(LockHeldError);
      expect(["b", "c"]).toContain((await readLease(store))?.runId);
    });
    it("leaves a live lease alone when the stale one it read was replaced before its takeover", async () => {
      const store = memoryStore();
      await acquireLock(store, { runId: "dead", owner: "host:1", leaseMs: 60_000, now: at(0) });
      const live = { runId: "e", owner: "host:5", expiresAt: "2026-03-10T13:00:00.000Z" };
      const putIfAbsent = store.putIfAbsent.bind(store);
      // Between our read of the stale lease and our takeover claim, another taker finished its whole
      // run (releasing lock and claim) and a new run took a live lease.
      store.putIfAbsent = async (key, body) => {
        if (key.startsWith("_sync/lock-takeover/"))
          store.objects.set(LOCK_KEY, { bytes: Buffer.from(JSON.stringify(live)), modified: new Date() });
        return putIfAbsent(key, body);
      };

      const error = await acquireLock(store, { runId: "a", owner: "host:2", now: at(120_000) }).catch(
        (caught: unknown) => caught,
      );

      expect(error).toBeInstanceOf(LockHeldError);
      expect(await readLease(store)).toEqual(live);
    });
  });

  describe("Lease", () => {
    it("renews the expiry while it is ours", async () => {
      const store = memoryStore();
      let clock = 0;
      const lease = await acquireLock(store, { runId: "a", leaseMs: 60_000, now: () => at(clock)() });

      clock = 30_000;
      await lease.renew();

      expect((await readLease(store))?.expiresAt).toBe("2026-03-10T12:01:30.000Z");
    });

    it("fails to renew, and does not delete on release, a lease another run took over", async () => {
      const store = memoryStore();
      const lease = await acquireLock(store, { runId: "a", leaseMs: 60_000, now: at(0) });
      await acquireLock(store, { runId: "b", leaseMs: 60_000, now: at(120_000) });

      await expect(lease.renew()).rejects.toBeInstanceOf(MirrorError);
      await lease.release();

      expect((await readLease(store))?.runId).toBe("b");
    });

    it("deletes the lock on release", async () => {
      const store = memoryStore();
      const lease = await acquireLock(store, { runId: "a", now: at(0) });

      await lease.release();

      expect(await store.stat(LOCK_KEY)).toBeNull();
    });
  });

  describe("resumeLease", () => {
    it("lets the shards of one run renew its lease in turn on a compare-and-swap store, and never release it", async () => {
      const store = casMemoryStore();
      await acquireLock(store, { runId: "a", owner: "orchestrator", leaseMs: 60_000, now: at(0) });
      const shards = await Promise.all(
        [0, 1, 2].map((index) =>
          resumeLease(store, {
            runId: "a",
            owner: `shard-${index}`,
            leaseMs: 60_000,
            now: at(10_000),
            shared: true,
          }),
        ),
      );

      // Each renewal changes the lock's etag: an unshared handle would now find its etag stale.
      for (const shard of [...shards, ...shards]) await shard?.renew();
      await shards[0]?.release();

      expect(await readLease(store)).toEqual({
        runId: "a",
        owner: "shard-2",
        expiresAt: "2026-03-10T12:01:10.000Z",
      });
      await acquireLock(store, { runId: "b", owner: "next", leaseMs: 60_000, now: at(20_000) }).then(
        () => expect.unreachable("the run's lease is still live"),
        (error: Error) => expect(error.name).toBe("LockHeldError"),
      );
    });

    /** Run "a" holds the lock; the next `cuts` reads of it see a write in progress (half a document). */
    async function halfWritten(cuts: number) {
      const store = casMemoryStore();
      await acquireLock(store, { runId: "a", owner: "o", leaseMs: 60_000, now: at(0) });
      const get = store.get.bind(store);
      let cut = 0;
      const cutNext = (n: number): void => {
        cut = n;
      };
      store.get = async (key, range) =>
        key === LOCK_KEY && cut-- > 0 ? Readable.from([Buffer.from('{"runId":"a","own')]) : get(key, range);
      cutNext(cuts);
      const shard = () =>
        resumeLease(store, { runId: "a", owner: "s", leaseMs: 60_000, now: at(0), shared: true });
      return { store, shard, cutNext };
    }

    it("reads again a lock that reads back half-written during a shared renewal (a read meeting another shard's write)", async () => {
      const { store, shard, cutNext } = await halfWritten(0);
      const lease = await shard();
      cutNext(2);

      await lease?.renew();

      expect((await readLease(store))?.owner).toBe("s");
    });

    it("picks up its run's lease when the first reads of it meet another shard's write", async () => {
      const { shard } = await halfWritten(2);

      expect((await shard())?.runId).toBe("a");
    });

    it("stops a shared renewal once another run holds the lock", async () => {
      const store = casMemoryStore();
      await acquireLock(store, { runId: "a", owner: "o", leaseMs: 1_000, now: at(0) });
      const shard = await resumeLease(store, {
        runId: "a",
        owner: "s",
        leaseMs: 1_000,
        now: at(0),
        shared: true,
      });
      await acquireLock(store, { runId: "b", owner: "next", leaseMs: 60_000, now: at(5_000) });

      await expect(shard?.renew()).rejects.toThrow("lost the sync lock: run b (owner next) took it over");
    });

    it("picks up the lease its run holds in another process, renews it under the new owner and releases it", async () => {
      const store = memoryStore();
      await acquireLock(store, { runId: "a", owner: "orchestrator", leaseMs: 60_000, now: at(0) });

      const lease = await resumeLease(store, {
        runId: "a",
        owner: "worker",
        leaseMs: 60_000,
        now: at(30_000),
      });
      await lease?.renew();

      expect(await readLease(store)).toEqual({
        runId: "a",
        owner: "worker",
        expiresAt: "2026-03-10T12:01:30.000Z",
      });
      await lease?.release();
      expect(await readLease(store)).toBeNull();
    });

    it("returns null when the lock names another run, and a resumed lease that was taken over refuses to renew", async () => {
      const store = memoryStore();
      await acquireLock(store, { runId: "a", owner: "o", leaseMs: 60_000, now: at(0) });
      const lease = await resumeLease(store, { runId: "a", owner: "w", leaseMs: 60_000, now: at(0) });

      await acquireLock(store, { runId: "b", owner: "o2", leaseMs: 60_000, now: at(120_000) });

      expect(await resumeLease(store, { runId: "a", owner: "w", leaseMs: 60_000 })).toBeNull();
      await expect(lease?.renew()).rejects.toBeInstanceOf(MirrorError);
      await lease?.release();
      expect((await readLease(store))?.runId).toBe("b");
    });
  });

  describe("on a store with compare-and-swap (S3 If-Match)", () => {
    const thief = JSON.stringify({ runId: "thief", owner: "host:9", expiresAt: "2026-03-10T13:00:00.000Z" });

    it("renews by swapping the version it wrote: a takeover landing just before the swap wins", async () => {
      const store = casMemoryStore();
      const lease = await acquireLock(store, { runId: "a", owner: "host:1", leaseMs: 60_000, now: at(0) });
      await lease.renew(); // an undisturbed renewal swaps fine
      const swap = store.replaceIfMatch.bind(store);
      // A read-then-write renewal would have read its own lease, then overwritten this.
      store.replaceIfMatch = async (key, body, etag) => {
        await store.put(LOCK_KEY, thief);
        return swap(key, body, etag);
      };

      const error = await lease.renew().catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(MirrorError);
      expect((error as Error).message).toContain("lost the sync lock: run thief");
      expect(store.objects.get(LOCK_KEY)?.bytes.toString()).toBe(thief);
    });

    it("releases only the version it wrote, never a lease taken over since", async () => {
      const store = casMemoryStore();
      const lease = await acquireLock(store, { runId: "a", owner: "host:1", leaseMs: 60_000, now: at(0) });
      const deleteIfMatch = store.deleteIfMatch.bind(store);
      // The takeover lands between any read of the lock and the delete.
      store.deleteIfMatch = async (key, etag) => {
        await store.put(LOCK_KEY, thief);
        return deleteIfMatch(key, etag);
      };

      await lease.release();

      expect(store.objects.get(LOCK_KEY)?.bytes.toString()).toBe(thief);
    });

    it("takes over a stale lease only if it is still that lease when deleting it", async () => {
      const store = casMemoryStore();
      await acquireLock(store, { runId: "stale", owner: "host:1", leaseMs: 1000, now: at(0) });
      const deleteIfMatch = store.deleteIfMatch.bind(store);
      // Another taker replaces the stale lease with a live one between our check and our delete.
      store.deleteIfMatch = async (key, etag) => {
        if (key === LOCK_KEY) await store.put(LOCK_KEY, thief);
        return deleteIfMatch(key, etag);
      };

      const error = await acquireLock(store, { runId: "b", owner: "host:2", now: at(60_000) }).catch(
        (caught: unknown) => caught,
      );

      expect(error).toBeInstanceOf(LockHeldError);
      expect(store.objects.get(LOCK_KEY)?.bytes.toString()).toBe(thief);
    });
  });
  describe("a lease whose process is gone", () => {
    const gone = async () => {
      const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
      await new Promise((resolve) => child.once("exit", resolve));
      return { ...currentProcess(), pid: child.pid as number };
    };

    it("is taken over at once by a run on the same host, which says from whom and why", async () => {
      const store = memoryStore();
      const dead = await gone();
      await acquireLock(store, {
        runId: "crashed",
        owner: "vm:1",
        process: dead,
        leaseMs: 600_000,
        now: at(0),
      });

      const lease = await acquireLock(store, { runId: "next", process: currentProcess(), now: at(1000) });

      expect(lease.takenOver?.from).toMatchObject({ runId: "crashed", owner: "vm:1", process: dead });
      expect(lease.takenOver?.reason).toBe(`process ${dead.pid} on ${dead.host} is gone`);
      expect(await readLease(store)).toMatchObject({ runId: "next", process: { pid: process.pid } });
    });

    it("still binds when its process runs, and when it names no process (Lambda, ECS: by time only)", async () => {
      for (const process of [currentProcess(), undefined]) {
        const store = memoryStore();
        await acquireLock(store, {
          runId: "running",
          owner: "vm:1",
          leaseMs: 600_000,
          now: at(0),
          ...(process ? { process } : {}),
        });
        await expect(acquireLock(store, { runId: "next", now: at(1000) })).rejects.toBeInstanceOf(
          LockHeldError,
        );
      }
    });
  });

  describe("releaseLock (hbsync unlock)", () => {
    it("reports that there is no lease", async () => {
      expect(await releaseLock(memoryStore())).toEqual({ holder: null, state: null, released: false });
    });

    it("refuses a holder that looks alive unless forced, and shows it either way", async () => {
      const store = casMemoryStore();
      await acquireLock(store, { runId: "live", owner: "vm:1", process: currentProcess(), leaseMs: 600_000 });

      const refused = await releaseLock(store);
      expect(refused).toMatchObject({ holder: { runId: "live" }, state: { state: "live" }, released: false });
      expect(await readLease(store)).not.toBeNull();

      const forced = await releaseLock(store, { force: true });
      expect(forced).toMatchObject({ holder: { runId: "live" }, released: true });
      expect(await readLease(store)).toBeNull();
    });

    it("releases an expired lease without --force", async () => {
      const store = memoryStore();
      await acquireLock(store, { runId: "old", owner: "vm:1", leaseMs: 1000, now: at(0) });

      const result = await releaseLock(store, { now: at(5000) });

      expect(result).toMatchObject({ state: { state: "expired" }, released: true });
      expect(await readLease(store)).toBeNull();
    });
  });
});
