import { describe, expect, it } from "vitest";
import { MigrationError } from "../../../src/mirror/errors.ts";
import { migrateBottlesHash, parseBottlesHash } from "../../../src/mirror/migrate.ts";
import { loadState } from "../../../src/mirror/state.ts";
import { fakeUpstream, TAGS } from "./fake-upstream.ts";
import { memoryStore } from "./memory-store.ts";

describe("mirror/migrate", () => {
  describe("parseBottlesHash", () => {
    it("refuses a corrupt file instead of guessing", () => {
      expect(() => parseBottlesHash('{"wget-1.0-arm64_sequoia": ')).toThrow(MigrationError);
      expect(() => parseBottlesHash("[]")).toThrow(MigrationError);
    });

    it("reports entries whose value is not a sha256", () => {
      const parsed = parseBottlesHash(
        JSON.stringify({ a: "A".repeat(64), b: "xyz", c: 5, d: { sha256: "d".repeat(64) } }),
      );

      expect(parsed.entries).toEqual([
        { id: "a", sha256: "a".repeat(64) },
        { id: "d", sha256: "d".repeat(64) },
      ]);
      expect(parsed.invalid.map((entry) => entry.id)).toEqual(["b", "c"]);
    });
  });

  describe("migrateBottlesHash", () => {
    it("adopts only stored bottles that match the index and re-hash correctly; reports the rest", async () => {
      const upstream = fakeUpstream(["wget", "curl", "jq"]);
      const wget = upstream.shaOf("wget", "arm64_sequoia");
      const curl = upstream.shaOf("curl", "arm64_sequoia");
      const store = memoryStore({
        "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz": upstream.bytes.get(wget) ?? "",
        "bottles/curl-1.0.arm64_sequoia.bottle.tar.gz": "tampered bytes",
        "legacy/jq-1.0.x86_64_linux.bottle.tar.gz":
          upstream.bytes.get(upstream.shaOf("jq", "x86_64_linux")) ?? "",
      });
      const legacy = JSON.stringify({
        "wget-1.0-arm64_sequoia": wget,
        "curl-1.0-arm64_sequoia": curl,
        "jq-1.0-x86_64_linux": upstream.shaOf("jq", "x86_64_linux"),
        "jq-1.0-arm64_sequoia": upstream.shaOf("jq", "arm64_sequoia"),
        "wget-1.0-x86_64_linux": "f".repeat(64),
        "gone-0.1-arm64_sequoia": "e".repeat(64),
        broken: "nope",
      });

      const report = await migrateBottlesHash({
        store,
        formulae: upstream.formulae,
        tags: TAGS,
        legacy,
        runId: "migrate-1",
        legacyPrefixes: ["legacy/"],
      });

      expect(report.counts).toEqual({
        adopted: 2,
        "already-mirrored": 0,
        absent: 1,
        mismatch: 1,
        stale: 1,
        unknown: 1,
        invalid: 1,
      });
      const state = await loadState(store);
      expect(Object.keys(state.entries).sort()).toEqual([
        "bottles/jq-1.0.x86_64_linux.bottle.tar.gz",
        "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz",
      ]);
      expect(store.objects.has("bottles/jq-1.0.x86_64_linux.bottle.tar.gz")).toBe(true);
      expect(store.objects.has("_sync/lock")).toBe(false);
    });
  });
});
