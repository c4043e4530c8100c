import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Fault, seededRandom } from "../../../src/emulator/faults.ts";
import { HomebrewApiClient } from "../../../src/homebrew/api-client.ts";
import { RegistryClient } from "../../../src/homebrew/registry-client.ts";
import type { RunReport } from "../../../src/mirror/report.ts";
import { syncMirror } from "../../../src/mirror/sync.ts";
import { verifyMirror } from "../../../src/mirror/verify.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { expectedBottles, mirrorSettings, walkFiles } from "./helpers.ts";

/** Every failure a blob response can carry, picked at random for each faulted response. */
const BLOB_FAULTS: readonly Fault[] = [
  { kind: "status", status: 500 },
  { kind: "status", status: 503 },
  { kind: "status", status: 429, retryAfter: 1 },
  { kind: "reset" },
  { kind: "reset", afterBytes: 700 },
  { kind: "truncate", afterBytes: 1_000 },
  { kind: "truncate", afterBytes: -1 },
  { kind: "corrupt" },
  { kind: "stall", afterBytes: 300 },
  { kind: "bad-chunking", afterBytes: 500 },
];

/**
 * The scenario, against the emulator on loopback: an upstream that fails a share of the blob
 * responses in every way it can. With the default retry policy (4 retries per transfer; its waits are
 * skipped here: they are unit-tested in tests/unit/shared/retry.test.ts), each run ends (never a crash),
 * the next one takes the lease at once, and within 3 runs the mirror is complete, verified, and never
 * held a bad object.
 */
describe("mirror/sync against an upstream that fails blob responses at random", () => {
  const emulator = withEmulator({
    fixtures: false,
    synthetic: { formulae: 200, tags: ["arm64_sequoia"], sizes: { min: 2_000, max: 24_000 } },
  });
  let root = "";

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "hbsync-faults-"));
    emulator().faults.clear();
    emulator().resetStats();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([0.3, 0.5])(
    "at a %s fault rate: complete and verified within 3 runs, 0 bad objects",
    async (rate) => {
      emulator().faults.random = seededRandom(Math.round(rate * 1000));
      emulator().faults.inject({
        match: "/blobs/",
        host: "blob",
        times: Number.POSITIVE_INFINITY,
        chance: rate,
        fault: BLOB_FAULTS,
      });
      const bottles = expectedBottles(emulator(), ["arm64_sequoia"]);
      expect(bottles).toHaveLength(200);
      const retry = { sleep: async () => {} };
      const api = new HomebrewApiClient({ apiBase: emulator().api, trustedKey: emulator().publicKey, retry });
      const registry = new RegistryClient({ registryBase: emulator().registry, idleTimeoutMs: 300 });
      const reports: RunReport[] = [];
      try {
        for (let run = 1; run <= 3 && reports.at(-1)?.status !== "succeeded"; run++) {
          const { report } = await syncMirror({
            store: new FsStore(root),
            api,
            registry,
            settings: mirrorSettings({ tags: ["arm64_sequoia"], concurrency: { checkers: 8, transfers: 8 } }),
            runId: `faults-${rate}-${run}`,
            retry,
          });
          reports.push(report);
        }
      } finally {
        await registry.close();
      }

      expect(reports.at(-1)?.status).toBe("succeeded");
      expect(reports.length).toBeLessThanOrEqual(3);
      const fired = emulator().faults.fired.length;
      expect(fired).toBeGreaterThan(200 * rate * 0.8);
      expect(new Set(emulator().faults.fired.map((fault) => fault.kind)).size).toBeGreaterThan(3);
      // Complete and verified: every bottle in the state, each re-hashed against it.
      const verified = await verifyMirror({ store: new FsStore(root) });
      expect(verified.problems).toEqual([]);
      // 0 bad objects: every file under bottles/ holds exactly the indexed bytes; no temp file is left.
      const bySha = new Map(bottles.map((bottle) => [bottle.key, bottle.sha256]));
      const files = (await walkFiles(root)).filter((file) => file.endsWith(".tar.gz"));
      expect(files).toHaveLength(200);
      for (const file of files) {
        const sha256 = createHash("sha256")
          .update(await readFile(join(root, file)))
          .digest("hex");
        expect(sha256, file).toBe(bySha.get(file));
      }
      expect(await readdir(join(root, ".tmp"))).toEqual([]);
      expect(await walkFiles(root, "_sync")).not.toContain("lock");
    },
  );
});
