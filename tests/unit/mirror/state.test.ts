import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { StateError } from "../../../src/mirror/errors.ts";
import {
  emptyState,
  loadState,
  parseState,
  readText,
  STATE_KEY,
  saveState,
} from "../../../src/mirror/state.ts";
import { casMemoryStore, memoryStore } from "./memory-store.ts";

describe("mirror/state", () => {
  describe("loadState", () => {
    it("reads an absent state as an empty mirror", async () => {
      expect(await loadState(memoryStore())).toEqual(emptyState());
    });

    it("round-trips what saveState wrote, stamping updatedAt", async () => {
      const store = memoryStore();
      const state = emptyState();
      state.entries["bottles/a"] = {
        sha256: "a".repeat(64),
        size: 1,
        formula: "a",
        tag: "all",
        syncedAt: "t",
        supersededAt: "s",
      };

      await saveState(store, state, new Date("2026-03-10T00:00:00.000Z"));

      expect(await loadState(store)).toEqual({ ...state, updatedAt: "2026-03-10T00:00:00.000Z", api: {} });
    });
  });

  describe("readText", () => {
    /** A store whose first `cuts` reads of a body end with a connection reset after 3 bytes. */
    function cutting(cuts: number) {
      const store = memoryStore({ "_sync/plans/r.json": '{"plan":1}' });
      const get = store.get.bind(store);
      let reads = 0;
      store.get = async (key, range) => {
        if (++reads > cuts) return get(key, range);
        const reset = Object.assign(new Error("aborted"), { code: "ECONNRESET" });
        return Readable.from(
          (async function* () {
            yield Buffer.from('{"p');
            throw reset;
          })(),
        );
      };
      return { store, reads: () => reads };
    }
    const noWait = { sleep: async () => undefined };

    it("reads again a body the connection cut short", async () => {
      const { store, reads } = cutting(2);

      expect(await readText(store, "_sync/plans/r.json", noWait)).toBe('{"plan":1}');
      expect(reads()).toBe(3);
    });

    it("gives up after three cut reads with the connection's error", async () => {
      const { store } = cutting(3);

      await expect(readText(store, "_sync/plans/r.json", noWait)).rejects.toThrow("aborted");
    });
  });

  describe("saveState", () => {
    it("flushes the store first, and writes the state as it was before the flush began", async () => {
      const store = memoryStore();
      const state = emptyState();
      const order: string[] = [];
      store.flush = async () => {
        order.push("flush");
        // A transfer finishing while the flush runs: its object is not flushed, so it must not be named.
        state.entries["bottles/late"] = {
          sha256: "b".repeat(64),
          size: 1,
          formula: "b",
          tag: "all",
          syncedAt: "t",
        };
      };
      const put = store.put.bind(store);
      store.put = (key, body, options) => {
        order.push(`put ${key}`);
        return put(key, body, options);
      };

      await saveState(store, state);

      expect(order).toEqual(["flush", `put ${STATE_KEY}`]);
      expect(Object.keys((await loadState(store)).entries)).toEqual([]);
    });
  });

  describe("saveState of a state unchanged since it was read", () => {
    const T1 = new Date("2026-03-10T12:00:00.000Z");
    const T2 = new Date("2026-03-10T13:00:00.000Z");
    const entry = { sha256: "a".repeat(64), size: 1, formula: "a", tag: "all", syncedAt: "t" };
    // As loadState gives it back (with its `api` record), so that the document round-trips.
    const withEntry = (key: string) => {
      const state = { ...emptyState(), api: {} };
      state.entries[key] = { ...entry };
      return state;
    };

    it("writes nothing: the store holds it already, but for updatedAt", async () => {
      const store = casMemoryStore();
      await saveState(store, withEntry("bottles/a"), T1);
      const loaded = await loadState(store);
      store.writes.length = 0;

      await saveState(store, loaded, T2);

      expect(store.writes).toEqual([]);
      expect((await loadState(store)).updatedAt).toBe(T1.toISOString());
    });

    it("writes it when the state changed since the read", async () => {
      const store = casMemoryStore();
      await saveState(store, withEntry("bottles/a"), T1);
      const loaded = await loadState(store);
      loaded.entries["bottles/b"] = { ...entry };

      await saveState(store, loaded, T2);

      expect(Object.keys((await loadState(store)).entries)).toEqual(["bottles/a", "bottles/b"]);
      expect((await loadState(store)).updatedAt).toBe(T2.toISOString());
    });

    it("writes it when the store's copy was written by another since the read", async () => {
      const store = casMemoryStore();
      await saveState(store, withEntry("bottles/a"), T1);
      const loaded = await loadState(store);
      await new Promise((resolve) => setTimeout(resolve, 2)); // another modified time, so another etag
      await store.put(STATE_KEY, JSON.stringify(withEntry("bottles/other")));

      await saveState(store, loaded, T2);

      expect(Object.keys((await loadState(store)).entries)).toEqual(["bottles/a"]);
    });

    it("writes it on a store without entity tags", async () => {
      const store = memoryStore();
      await saveState(store, withEntry("bottles/a"), T1);
      const loaded = await loadState(store);
      store.writes.length = 0;

      await saveState(store, loaded, T2);

      expect(store.writes).toEqual([`put ${STATE_KEY}`]);
    });
  });

  describe("parseState", () => {
    it.each([
      ["not JSON", "{"],
      ["another version", JSON.stringify({ version: 2, entries: {} })],
      ["a malformed entry", JSON.stringify({ version: 1, entries: { k: { sha256: 1 } } })],
    ])("refuses %s with a StateError naming the key", (_title, text) => {
      const error = (() => {
        try {
          parseState(text);
        } catch (caught) {
          return caught;
        }
      })();

      expect(error).toBeInstanceOf(StateError);
      expect((error as StateError).key).toBe(STATE_KEY);
      expect((error as StateError).fix).toBeTruthy();
    });
  });
});
