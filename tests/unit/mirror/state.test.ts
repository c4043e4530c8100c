import { describe, expect, it } from "vitest";
import { StateError } from "../../../src/mirror/errors.ts";
import { emptyState, loadState, parseState, STATE_KEY, saveState } from "../../../src/mirror/state.ts";
import { memoryStore } from "./memory-store.ts";

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
