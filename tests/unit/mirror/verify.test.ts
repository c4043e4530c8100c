import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { saveState } from "../../../src/mirror/state.ts";
import { describeProblem, verifyMirror } from "../../../src/mirror/verify.ts";
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

    it("passes an empty mirror", async () => {
      const report = await verifyMirror({ store: memoryStore() });

      expect(report).toMatchObject({ checked: 0, ok: 0, problems: [] });
    });
  });
});
