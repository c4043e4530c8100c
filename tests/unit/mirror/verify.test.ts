import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { NoMirrorError } from "../../../src/mirror/errors.ts";
import { saveState } from "../../../src/mirror/state.ts";
import { describeProblem, summarizeVerify, verifyMirror } from "../../../src/mirror/verify.ts";
import { memoryStore } from "./memory-store.ts";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const entry = (text: string) => ({
  sha256: sha(text),
  size: text.length,
  formula: "f",
  tag: "all",
  syncedAt: "2026-01-01T00:00:00Z",
});

describe("mirror/verify", () => {
  describe("verifyMirror", () => {
    it("re-hashes every recorded object and lists the missing and the corrupted", async () => {
      const store = memoryStore({ "bottles/good": "good", "bottles/bad": "BAD!", "bottles/short": "s" });
      await saveState(store, {
        version: 1,
        updatedAt: "",
        entries: {
          "bottles/good": entry("good"),
          "bottles/bad": entry("bad!"),
          "bottles/short": entry("short"),
          "bottles/gone": entry("gone"),
        },
        api: { "bottles/good": { sha256: sha("good"), size: 4, syncedAt: "" } },
      });

      const report = await verifyMirror({ store });

      expect(report.checked).toBe(5);
      expect(report.ok).toBe(2);
      expect(report.problems.map(describeProblem).sort()).toEqual([
        `bottles/bad: sha256 differs (expected ${sha("bad!")}, got ${sha("BAD!")})`,
        "bottles/gone: missing",
        "bottles/short: size differs (expected 5 bytes, got 1)",
      ]);
    });

    it("counts what it checked by kind: bottles, manifests, API files", async () => {
      const store = memoryStore({ "bottles/b": "b", "bottles/i/manifests/1": "m", "api/a.json": "a" });
      await saveState(store, {
        version: 1,
        updatedAt: "",
        entries: { "bottles/b": entry("b") },
        manifests: { "bottles/i/manifests/1": { ...entry("m"), tag: "manifest" } },
        api: { "api/a.json": { sha256: sha("a"), size: 1, syncedAt: "" } },
      });

      const report = await verifyMirror({ store });

      expect(report.byKind).toEqual({ bottles: 1, manifests: 1, api: 1, oci: 0 });
      expect(summarizeVerify(report)).toBe(
        "verified 3 of 3 objects in memory://test (1 bottle, 1 manifest, 1 API file)",
      );
    });

    it("refuses a store with no _sync/state.json, naming it (not 'verified 0 of 0')", async () => {
      await expect(verifyMirror({ store: memoryStore({ "bottles/x": "x" }) })).rejects.toThrow(
        new NoMirrorError("memory://test", "_sync/state.json does not exist (no sync has written here)"),
      );
    });
  });
});
