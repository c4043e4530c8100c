import { describe, expect, it } from "vitest";
import {
  BREW_GIT_RECORD_KEY,
  emptyRecord,
  infoPacks,
  loadRecord,
  parseInfoPacks,
  saveRecord,
} from "../../../src/mirror/git/record.ts";
import { memoryStore } from "./memory-store.ts";

const PACK = `pack-${"1".repeat(40)}`;
const OTHER = `pack-${"2".repeat(40)}`;

describe("mirror/git/record", () => {
  describe("infoPacks", () => {
    it("writes objects/info/packs as git update-server-info does: one P line per pack, then a blank line", () => {
      expect(infoPacks([OTHER, PACK])).toBe(`P ${PACK}.pack\nP ${OTHER}.pack\n\n`);
      expect(infoPacks([])).toBe("\n");
    });

    it("reads back the pack names, ignoring what is not a pack line", () => {
      expect(parseInfoPacks(`${infoPacks([PACK, OTHER])}garbage\nP pack-xyz.pack\n`)).toEqual([PACK, OTHER]);
    });
  });

  describe("loadRecord", () => {
    it("is null before the first publish and round-trips what saveRecord wrote", async () => {
      const store = memoryStore();
      expect(await loadRecord(store)).toBeNull();
      const record = emptyRecord("https://github.com/Homebrew/brew.git");
      record.head = "refs/heads/main";
      record.refs = { "refs/heads/main": "a".repeat(40) };
      record.packs[PACK] = {
        size: 10,
        sha256: "b".repeat(64),
        idxSize: 20,
        idxSha256: "c".repeat(64),
        objects: 3,
        publishedAt: "2026-03-01T00:00:00.000Z",
      };
      record.retired[OTHER] = { retiredAt: "2026-03-01T00:00:00.000Z" };
      await saveRecord(store, record, new Date("2026-03-02T00:00:00Z"));
      expect(await loadRecord(store)).toEqual({ ...record, updatedAt: "2026-03-02T00:00:00.000Z" });
    });

    it.each([
      ["not JSON", "{", "is not valid JSON"],
      ["another version", JSON.stringify({ version: 2, refs: {}, packs: {} }), "is not a version 1 record"],
      [
        "a bad ref",
        JSON.stringify({ version: 1, refs: { main: "x" }, packs: {} }),
        'names a bad ref: "main" → "x"',
      ],
      [
        "a pack without digests",
        JSON.stringify({ version: 1, refs: {}, packs: { [PACK]: { size: 1 } } }),
        `has a bad pack entry: "${PACK}"`,
      ],
      [
        "a retired name that is not a pack",
        JSON.stringify({ version: 1, refs: {}, packs: {}, retired: { "../x": {} } }),
        'has a bad retired pack: "../x"',
      ],
    ])("refuses %s, naming the record and how to recover", async (_case, text, message) => {
      const store = memoryStore();
      await store.put(BREW_GIT_RECORD_KEY, text);
      const error = await loadRecord(store).catch((caught: unknown) => caught);
      expect(error).toMatchObject({
        message: `${BREW_GIT_RECORD_KEY} ${message}`,
        fix: expect.stringContaining(`delete ${BREW_GIT_RECORD_KEY}`),
      });
    });
  });
});
