import { describe, expect, it } from "vitest";
import type { ApiFile } from "../../../src/homebrew/api-client.ts";
import { ACCEPTED_API_RECORD, readAcceptedApi, recordAcceptedApi } from "../../../src/mirror/accepted-api.ts";
import { memoryStore } from "./memory-store.ts";

const TRUST = "1".repeat(64);
const OTHER = "2".repeat(64);
const file = (key: string, sha256: string): ApiFile => ({ key, sha256, bytes: new Uint8Array() });
const FILES = [file("api/formula.jws.json", "a".repeat(64)), file("api/cask.jws.json", "b".repeat(64))];

describe("mirror/accepted-api", () => {
  it("records the files under their trust and reads them back under that trust only", async () => {
    const store = memoryStore();

    await recordAcceptedApi(store, TRUST, FILES, new Map());

    const read = await readAcceptedApi(store, TRUST);
    expect([...read]).toEqual(FILES.map((f) => [f.key, f.sha256]));
    expect((await readAcceptedApi(store, OTHER)).size).toBe(0);
    expect((await readAcceptedApi(store, undefined)).size).toBe(0);
  });

  it("writes nothing when the record already says exactly that, and rewrites it when a file changed", async () => {
    const store = memoryStore();
    await recordAcceptedApi(store, TRUST, FILES, new Map());
    const previous = await readAcceptedApi(store, TRUST);
    store.writes.length = 0;

    await recordAcceptedApi(store, TRUST, FILES, previous);
    expect(store.writes).toEqual([]);

    const changed = [FILES[0] as ApiFile, file("api/cask.jws.json", "c".repeat(64))];
    await recordAcceptedApi(store, TRUST, changed, previous);
    expect(store.writes).toEqual([`put ${ACCEPTED_API_RECORD}`]);
    expect((await readAcceptedApi(store, TRUST)).get("api/cask.jws.json")).toBe("c".repeat(64));
  });

  it.each([
    ["not JSON", "{not json"],
    ["another version", JSON.stringify({ version: 2, trust: TRUST, files: {} })],
    ["no files", JSON.stringify({ version: 1, trust: TRUST })],
  ])("reads a record that is %s as none: every file is checked", async (_what, text) => {
    const store = memoryStore({ [ACCEPTED_API_RECORD]: text });

    expect((await readAcceptedApi(store, TRUST)).size).toBe(0);
  });

  it("ignores a recorded digest that is not a lowercase sha256", async () => {
    const files = { "api/formula.jws.json": "A".repeat(64), "api/cask.jws.json": "b".repeat(64), x: 7 };
    const store = memoryStore({ [ACCEPTED_API_RECORD]: JSON.stringify({ version: 1, trust: TRUST, files }) });

    expect([...(await readAcceptedApi(store, TRUST))]).toEqual([["api/cask.jws.json", "b".repeat(64)]]);
  });

  it("records nothing without a trust (an index source that cannot say what it verified under)", async () => {
    const store = memoryStore();

    await recordAcceptedApi(store, undefined, FILES, new Map());

    expect(store.writes).toEqual([]);
  });
});
