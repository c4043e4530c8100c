import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HomebrewApiClient } from "../../../src/homebrew/api-client.ts";
import { SignatureError } from "../../../src/homebrew/errors.ts";
import { loadTrustedKey } from "../../../src/homebrew/keys.ts";
import { prepareReadOnly } from "../../../src/mirror/prepare.ts";
import { startServe } from "../../../src/mirror/serve.ts";
import { syncMirror } from "../../../src/mirror/sync.ts";
import { verifyMirror } from "../../../src/mirror/verify.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { assertServedLikeBrew, clientsFor, expectedBottles, mirrorSettings, walkFiles } from "./helpers.ts";

const A = "a".repeat(64);
const hostile = (name: unknown, sha256: unknown = A, extra: Record<string, unknown> = {}) => ({
  name,
  versions: { stable: "1.0" },
  revision: 0,
  bottle: { stable: { rebuild: 0, files: { arm64_sequoia: { cellar: ":any", sha256 } } } },
  ...extra,
});

describe("mirror/sync into a folder (emulator on loopback)", () => {
  const emulator = withEmulator({
    synthetic: { formulae: 12, tags: ["arm64_sequoia", "x86_64_linux"] },
    extraFormulae: [
      hostile("../../escape"),
      hostile("a/b"),
      hostile("nul\u0000name"),
      hostile("badsha", "not-a-sha"),
      hostile("UPPER", A.toUpperCase()),
      hostile("absurd", A, { versions: { stable: "../../1" } }),
    ],
  });
  let workdir = "";
  let root = "";

  beforeEach(async () => {
    workdir = await mkdtemp(join(tmpdir(), "hbsync-sync-fs-"));
    root = join(workdir, "mirror");
    emulator().faults.clear();
    emulator().resetStats();
  });
  afterEach(async () => {
    await rm(workdir, { recursive: true, force: true });
  });

  // The signed API names the hostile entries' bottles too: the mirror publishes it only once the
  // config excludes what cannot be mirrored (the NUL name is matched by a glob).
  const HOSTILE = ["../../escape", "a/b", "nul*", "badsha", "UPPER", "absurd"];
  const sync = (runId: string, store = new FsStore(root), exclude = HOSTILE) =>
    syncMirror({
      store,
      ...clientsFor(emulator()),
      settings: mirrorSettings({ exclude }),
      runId,
      retry: { retries: 3, baseMs: 5, maxMs: 20 },
    });

  const tamperSignature = () =>
    emulator().faults.inject({
      match: "formula.jws.json",
      host: "api",
      times: Number.POSITIVE_INFINITY,
      fault: { kind: "tamper-signature" },
    });

  it("mirrors every bottle so brew's URLs serve it, with byte-identical API files; verify passes", async () => {
    const { report } = await sync("full");

    expect(report.status).toBe("succeeded");
    expect(report.counts.transferred).toBe(expectedBottles(emulator()).length);
    const server = await startServe({ store: new FsStore(root) });
    try {
      await assertServedLikeBrew(emulator(), server);
    } finally {
      await server.close();
    }
    const verified = await verifyMirror({ store: new FsStore(root) });
    expect(verified.problems).toEqual([]);
  });

  it("makes zero blob requests on a no-op re-sync", async () => {
    await sync("first");
    emulator().resetStats();
    const state = await stat(join(root, "_sync/state.json"));

    const { report } = await sync("second");

    // Nothing changed, so the state is not written again (the run's report is).
    const after = await stat(join(root, "_sync/state.json"));
    expect([after.ino, after.mtimeMs]).toEqual([state.ino, state.mtimeMs]);

    expect(report.status).toBe("succeeded");
    expect(emulator().stats.blobRequests).toBe(0);
    expect(emulator().stats.blobHostRequests).toBe(0);
    expect(report.counts.transferred).toBe(0);
    // It still did the whole run: the index fetched again, the lease released, the report written.
    expect(emulator().stats.apiRequests).toBeGreaterThan(0);
    expect(report.counts.kept).toBe(expectedBottles(emulator()).length);
    const store = new FsStore(root);
    expect(await store.stat("_sync/lock")).toBeNull();
    expect(JSON.parse(await readFile(join(root, "_sync/runs/second.json"), "utf8"))).toMatchObject({
      runId: "second",
      status: "succeeded",
      counts: { transferred: 0 },
    });
  });

  it("verifies the index signature on a no-op re-sync too: a tampered one stops it before any write", async () => {
    await sync("first");
    emulator().resetStats();
    tamperSignature();

    await expect(sync("second")).rejects.toBeInstanceOf(SignatureError);

    expect(emulator().stats.blobRequests).toBe(0);
    expect(await walkFiles(root)).not.toContain("_sync/runs/second.json");
    expect(await new FsStore(root).stat("_sync/lock")).toBeNull();
  });

  it("does not check again the signatures of API files byte for byte as verified, under the same trusted key only", async () => {
    const accepted = join(root, "_sync/api-accepted.json");
    await sync("first");
    const record = JSON.parse(await readFile(accepted, "utf8"));
    const files = new Map(
      (await clientsFor(emulator()).api.fetchIndex()).files.map((f) => [f.key, f.sha256]),
    );
    expect(record.trust).toBe(clientsFor(emulator()).api.trust);
    expect(Object.entries(record.files)).toEqual(expect.arrayContaining([...files]));
    const written = (await stat(accepted)).mtimeMs;

    const details: string[] = [];
    const second = await syncMirror({
      store: new FsStore(root),
      ...clientsFor(emulator()),
      settings: mirrorSettings({ exclude: HOSTILE }),
      runId: "second",
      onProgress: (event) => {
        if (event.type === "phase" && event.phase === "index") details.push(event.detail ?? "");
      },
    });

    expect(second.report.status).toBe("succeeded");
    const total = Object.keys(record.files).length;
    expect(details).toContain(
      `${total} of ${total} API files are byte for byte those verified before under the same trusted key: their signatures were not checked again`,
    );
    // Nothing changed, so nothing was written.
    expect((await stat(accepted)).mtimeMs).toBe(written);

    // Another trusted key (here Homebrew's, which the emulator's files do not verify under): the record
    // does not apply, every file is checked, and the run stops before any write.
    const homebrew = new HomebrewApiClient({
      apiBase: emulator().api,
      trustedKey: await loadTrustedKey("builtin"),
    });
    await expect(
      syncMirror({
        store: new FsStore(root),
        api: homebrew,
        registry: clientsFor(emulator()).registry,
        settings: mirrorSettings({ exclude: HOSTILE }),
        runId: "third",
      }),
    ).rejects.toBeInstanceOf(SignatureError);
    expect(await walkFiles(root)).not.toContain("_sync/runs/third.json");
  });

  it("plans read-only (hbsync plan, sync --dry-run) as a sync prepares: accepted files not checked again, nothing written", async () => {
    await sync("first");
    const before = await walkFiles(root);
    const accepted = await readFile(join(root, "_sync/api-accepted.json"), "utf8");

    const prepared = await prepareReadOnly({
      store: new FsStore(root),
      ...clientsFor(emulator()),
      settings: mirrorSettings({ exclude: HOSTILE }),
      runId: "plan",
    });

    expect(prepared.apiFiles.length).toBeGreaterThan(0);
    expect(prepared.apiFiles.every((file) => file.accepted)).toBe(true);
    expect(prepared.plan.transfers).toEqual([]);
    expect(await walkFiles(root)).toEqual(before);
    expect(await readFile(join(root, "_sync/api-accepted.json"), "utf8")).toBe(accepted);
  });

  it("re-transfers a bottle deleted by hand, and only that one (the check asks the store per recorded key)", async () => {
    await sync("first");
    const [gone] = expectedBottles(emulator());
    if (!gone) throw new Error("the emulator serves no bottles");
    await rm(join(root, gone.key));
    emulator().resetStats();

    const { report } = await sync("second");

    expect(report.status).toBe("succeeded");
    expect(report.counts.transferred).toBe(1);
    expect(emulator().stats.blobRequests).toBe(1);
    expect((await new FsStore(root).stat(gone.key))?.size).toBeGreaterThan(0);
  });

  it("rejects hostile index entries, writes nothing outside the mirror root, publishes no API naming them", async () => {
    const { report } = await sync("hostile", new FsStore(root), []);

    expect(report.status).toBe("failed");
    const rejected = report.rejected.map((entry) => entry.name);
    expect(report.errors.map((error) => error.key).sort()).toEqual([...rejected].sort());
    expect((await walkFiles(root)).filter((file) => file.startsWith("api/"))).toEqual([]);
    for (const name of ["../../escape", "a/b", "badsha", "UPPER", "absurd"]) {
      expect(rejected).toContain(name);
    }
    // The NUL name is reported printable (escaped), but reported.
    expect(rejected.some((name) => name.startsWith("nul") && name !== "nul\u0000name")).toBe(true);
    expect(await readdir(workdir)).toEqual(["mirror"]);
    const files = await walkFiles(root);
    expect(
      files.filter((file) => file.includes("escape") || file.includes("absurd") || file.includes("badsha")),
    ).toEqual([]);

    const excluded = await sync("hostile-excluded");
    expect(excluded.report.status).toBe("succeeded");
    expect(excluded.report.rejected).toEqual([]);
    expect(await walkFiles(root)).toContain("api/formula.jws.json");
  });

  it("stops on a tampered signature before any write", async () => {
    tamperSignature();

    await expect(sync("tampered")).rejects.toBeInstanceOf(SignatureError);

    expect(await walkFiles(root)).toEqual([]);
    expect(emulator().stats.blobRequests).toBe(0);
  });

  it("never stores a corrupted or truncated blob; the run fails without publishing the API", async () => {
    const [corrupt, truncated] = expectedBottles(emulator());
    if (!corrupt || !truncated) throw new Error("the emulator serves too few bottles");
    const always = Number.POSITIVE_INFINITY;
    emulator().faults.inject({
      match: corrupt.sha256,
      host: "blob",
      times: always,
      fault: { kind: "corrupt" },
    });
    emulator().faults.inject({
      match: truncated.sha256,
      host: "blob",
      times: always,
      fault: { kind: "truncate", afterBytes: 100 },
    });

    const { report } = await sync("faulty");

    expect(report.status).toBe("failed");
    expect(report.errors.map((error) => error.key).sort()).toEqual([corrupt.key, truncated.key].sort());
    const files = await walkFiles(root);
    expect(files).not.toContain(corrupt.key);
    expect(files).not.toContain(truncated.key);
    expect(files.filter((file) => file.startsWith("api/"))).toEqual([]);
    expect(files.filter((file) => file.startsWith(".tmp/"))).toEqual([]);
  });

  it("retries a transient 503, 429 with Retry-After, a reset and a one-off corruption, then succeeds", async () => {
    const [first, second, third, fourth] = expectedBottles(emulator());
    if (!first || !second || !third || !fourth) throw new Error("the emulator serves too few bottles");
    emulator().faults.inject({
      match: first.sha256,
      host: "registry",
      fault: { kind: "status", status: 503 },
    });
    emulator().faults.inject({
      match: second.sha256,
      host: "registry",
      fault: { kind: "status", status: 429, retryAfter: 0 },
    });
    emulator().faults.inject({ match: third.sha256, host: "blob", fault: { kind: "reset" } });
    emulator().faults.inject({ match: fourth.sha256, host: "blob", fault: { kind: "corrupt" } });
    const firedBefore = emulator().faults.fired.length;

    const { report } = await sync("transient");

    expect(report.status).toBe("succeeded");
    expect(emulator().faults.fired.length - firedBefore).toBe(4);
    expect(emulator().faults.pending()).toBe(0);
    const verified = await verifyMirror({ store: new FsStore(root) });
    expect(verified.problems).toEqual([]);
  });
});
