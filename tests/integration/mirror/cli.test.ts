import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { acquireLock, currentProcess } from "../../../src/mirror/lock.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { expectedBottles, TAGS, walkFiles } from "./helpers.ts";

const REPO = resolve(import.meta.dirname, "../../..");

describe("hbsync sync / plan / verify (CLI, emulator on loopback)", () => {
  const emulator = withEmulator({
    synthetic: { formulae: 30, tags: ["arm64_sequoia", "x86_64_linux"], sizes: { min: 20_000, max: 60_000 } },
  });
  let workdir = "";
  let root = "";
  let child: ChildProcess | undefined;

  beforeEach(async () => {
    workdir = await mkdtemp(join(tmpdir(), "hbsync-cli-"));
    root = join(workdir, "mirror");
    emulator().faults.clear();
    emulator().resetStats();
  });
  afterEach(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    child = undefined;
    await rm(workdir, { recursive: true, force: true });
  });

  const upstreamFlags = () => [
    "--dest",
    root,
    "--upstream-api",
    emulator().api,
    "--upstream-registry",
    emulator().registry,
    "--trusted-key",
    emulator().publicKeyPath,
    "--tags",
    TAGS.join(","),
  ];
  const hbsync = async (args: string[]) => {
    const output = memoryOutput();
    const code = await run(args, output, { cwd: workdir, env: {} });
    return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
  };
  const slowBlobs = (bytesPerSecond: number) =>
    emulator().faults.inject({
      match: "/blobs/",
      host: "blob",
      times: Number.POSITIVE_INFINITY,
      fault: { kind: "slow", bytesPerSecond },
    });

  it("plans bytes per tag without writing, then syncs with exit 0 and verifies", async () => {
    const plan = await hbsync(["plan", ...upstreamFlags(), "--json"]);
    expect(plan.code).toBe(0);
    const planned = JSON.parse(plan.stdout) as {
      transfers: { bottles: number; bytes: number };
      byTag: Record<string, unknown>;
    };
    const bottles = expectedBottles(emulator());
    expect(planned.transfers.bottles).toBe(bottles.length);
    expect(planned.transfers.bytes).toBe(bottles.reduce((sum, bottle) => sum + bottle.size, 0));
    expect(Object.keys(planned.byTag).sort()).toEqual(
      ["all", "arm64_monterey", "arm64_sequoia", "x86_64_linux"].filter((tag) =>
        bottles.some((b) => b.tag === tag),
      ),
    );
    expect(await walkFiles(root)).toEqual([]);

    const sync = await hbsync(["sync", ...upstreamFlags(), "--json"]);
    expect(sync.code).toBe(0);
    expect(JSON.parse(sync.stdout)).toMatchObject({
      status: "succeeded",
      counts: { transferred: bottles.length },
    });

    const verify = await hbsync(["verify", "--dest", root]);
    expect(verify.code).toBe(0);
  });

  it("plan --explain gives the chain of dependents per tag; plan and sync name a missing dependency", async () => {
    const config = await readFile(join(REPO, "config.yaml"), "utf8");
    await writeFile(
      join(workdir, "config.yaml"),
      config.replace("    include: []", "    include: [synth00009, wget]"),
    );

    const explained = await hbsync(["plan", ...upstreamFlags(), "--explain", "synth00004"]);
    const json = await hbsync(["plan", ...upstreamFlags(), "--explain", "synth00007++", "--json"]);
    const plan = await hbsync(["plan", ...upstreamFlags(), "--json"]);
    const sync = await hbsync(["sync", ...upstreamFlags()]);

    expect(explained.code).toBe(0);
    // synth00009 → synth00008 → (Linux variation) synth00005 → synth00004; on arm64_sequoia no such chain.
    expect(explained.stdout).toContain(
      "synth00004 on x86_64_linux: mirrored, needed by synth00009 → synth00008 → synth00005 → synth00004; bottles/synth00004-1.4.4.x86_64_linux.bottle.tar.gz (from internal/packages.x86_64_linux)",
    );
    expect(explained.stdout).toContain(
      "synth00004 on arm64_sequoia: not mirrored, mirror.formulae.include does not ask for it and nothing mirrored needs it on arm64_sequoia",
    );
    // uses_from_macos: a dependency on Linux only.
    expect(JSON.parse(json.stdout)).toMatchObject({
      formula: "synth00007++",
      tags: [
        { tag: "arm64_sequoia", status: "not-selected" },
        { tag: "arm64_monterey", status: "not-selected" },
        { tag: "x86_64_linux", status: "mirrored", chain: ["synth00009", "synth00007++"] },
      ],
    });
    expect(JSON.parse(plan.stdout).missingDependencies).toContainEqual({
      name: "zlib",
      requiredBy: ["wget"],
      tags: ["x86_64_linux"],
    });
    expect(sync.code).toBe(0);
    expect(sync.stderr).toContain(
      "warning: zlib is not in the upstream index; wget needs it on x86_64_linux (brew cannot install that from this mirror)",
    );
    const report = JSON.parse(
      await readFile(join(root, "_sync/runs", (await walkFiles(join(root, "_sync/runs")))[0] ?? ""), "utf8"),
    );
    expect(report.missingDependencies.map((dependency: { name: string }) => dependency.name)).toEqual(
      expect.arrayContaining(["zlib", "libidn2"]),
    );
  });

  it("verify exits 1 naming a corrupted bottle", async () => {
    expect((await hbsync(["sync", ...upstreamFlags()])).code).toBe(0);
    const [victim] = expectedBottles(emulator());
    if (!victim) throw new Error("no bottles");
    await writeFile(join(root, victim.key), "tampered");

    const verify = await hbsync(["verify", "--dest", root]);

    expect(verify.code).toBe(1);
    expect(verify.stderr).toContain(`${victim.key}: size differs`);
  });

  it("verify --repair fetches again a flipped bottle and a deleted one; verify then exits 0", async () => {
    expect((await hbsync(["sync", ...upstreamFlags()])).code).toBe(0);
    const [flipped, deleted] = expectedBottles(emulator());
    if (!flipped || !deleted) throw new Error("no bottles");
    const bytes = await readFile(join(root, flipped.key));
    bytes[100] = (bytes[100] ?? 0) ^ 0xff; // same size: only a re-hash tells
    await writeFile(join(root, flipped.key), bytes);
    // The bug: a plain re-sync trusts the state and keeps the flipped bytes.
    expect((await hbsync(["sync", ...upstreamFlags()])).code).toBe(0);
    await rm(join(root, deleted.key));
    const found = await hbsync(["verify", "--dest", root]);
    expect(found.code).toBe(1);
    expect(found.stderr).toContain(`${flipped.key}: sha256 differs`);
    expect(found.stderr).toContain(`${deleted.key}: missing`);
    expect(found.stderr).toContain(`hbsync verify --repair --dest ${root}`);

    const repair = await hbsync(["verify", "--repair", ...upstreamFlags()]);

    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain("repaired 2 of 2 damaged objects");
    const verify = await hbsync(["verify", "--dest", root]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(
      /^verified (\d+) of \1 objects in .* \(\d+ bottles, \d+ manifests, \d+ API files\)$/,
    );
  });

  it("verify exits 1 naming the path when --dest is no mirror (missing folder, or no state)", async () => {
    const missing = await hbsync(["verify", "--dest", join(workdir, "does-not-exist")]);
    await writeFile(join(workdir, "stray.txt"), "not a mirror");
    const empty = await hbsync(["verify", "--dest", workdir]);

    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `error: no mirror at ${join(workdir, "does-not-exist")}: the folder does not exist`,
    );
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain(`error: no mirror at ${workdir}: _sync/state.json does not exist`);
    expect(await walkFiles(workdir)).toEqual(["stray.txt"]); // nothing created
  });

  it("migrate refuses a corrupt bottles_hash.json and adopts verified bottles from a good one", async () => {
    expect((await hbsync(["sync", ...upstreamFlags()])).code).toBe(0);
    const [bottle] = expectedBottles(emulator());
    if (!bottle) throw new Error("no bottles");
    await rm(join(root, "_sync/state.json"));
    await writeFile(join(workdir, "corrupt.json"), '{"x": ');
    await writeFile(
      join(workdir, "bottles_hash.json"),
      JSON.stringify({
        [`${bottle.formula}-${bottle.pkgVersion}-${bottle.tag}`]: bottle.sha256,
        "gone-1-x": "0".repeat(64),
      }),
    );

    const corrupt = await hbsync(["migrate", "--from", "corrupt.json", ...upstreamFlags()]);
    const good = await hbsync(["migrate", "--from", "bottles_hash.json", ...upstreamFlags(), "--json"]);

    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain("corrupt.json is not valid JSON");
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ counts: { adopted: 1, unknown: 1 } });
    const state = JSON.parse(await readFile(join(root, "_sync/state.json"), "utf8")) as { entries: object };
    expect(Object.keys(state.entries)).toEqual([bottle.key]);
  });

  it("refuses a second concurrent sync with exit 75 and says who holds the lock", async () => {
    slowBlobs(100_000);
    const first = hbsync(["sync", ...upstreamFlags(), "--run-id", "first-run"]);
    for (let i = 0; i < 200 && !(await walkFiles(root)).includes("_sync/lock"); i++) await delay(50);

    const second = await hbsync(["sync", ...upstreamFlags()]);

    expect(second.code).toBe(75);
    expect(second.stderr).toContain("another sync (run first-run, owner");
    expect(second.stderr).toContain("`hbsync unlock --dest …` shows the holder of _sync/lock");
    emulator().faults.clear();
    expect((await first).code).toBe(0);
  });

  it("resumes after SIGKILL mid-transfer without downloading verified bottles again", async () => {
    slowBlobs(150_000);
    child = spawn(
      process.execPath,
      [join(REPO, "bin/hbsync.js"), "sync", ...upstreamFlags(), "--transfers", "2"],
      {
        cwd: workdir,
        stdio: "ignore",
      },
    );
    const landed = async () => (await walkFiles(root)).filter((file) => file.endsWith(".tar.gz"));
    for (let i = 0; i < 600 && (await landed()).length < 4; i++) await delay(50);
    child.kill("SIGKILL");
    await new Promise((done) => child?.once("exit", done));
    const before = await landed();
    expect(before.length).toBeGreaterThanOrEqual(4);
    expect(before.length).toBeLessThan(expectedBottles(emulator()).length);
    emulator().faults.clear();
    emulator().resetStats();
    // The killed run's lease has not expired, but its process is gone: the re-run takes over at once.
    const rerun = await hbsync(["sync", ...upstreamFlags(), "--json"]);

    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(
      /lock: took over _sync\/lock from run \S+ \(owner [^)]+\): process \d+ on \S+ is gone/,
    );
    const report = JSON.parse(rerun.stdout) as { counts: { adopted: number; transferred: number } };
    expect(report.counts.adopted + report.counts.transferred).toBeGreaterThanOrEqual(
      expectedBottles(emulator()).length - before.length,
    );
    const requested = [...emulator().stats.requests.keys()].filter((path) => path.startsWith("/blobs/"));
    for (const file of before) {
      const bottle = expectedBottles(emulator()).find((b) => b.key === file);
      expect(
        requested.some((path) => bottle && path.includes(bottle.sha256)),
        file,
      ).toBe(false);
    }
    expect((await hbsync(["verify", "--dest", root])).code).toBe(0);
    const state = JSON.parse(await readFile(join(root, "_sync/state.json"), "utf8")) as { entries: object };
    expect(Object.keys(state.entries)).toHaveLength(expectedBottles(emulator()).length);
  });

  it("unlock shows the holder, refuses one that looks alive without --force, and releases a dead one", async () => {
    const store = new FsStore(root);
    await acquireLock(store, { runId: "alive", owner: "me", process: currentProcess(), leaseMs: 600_000 });

    const refused = await hbsync(["unlock", "--dest", root]);
    expect(refused.code).toBe(75);
    expect(refused.stdout).toContain(`run alive, owner me, process ${process.pid} on `);
    expect(refused.stderr).toContain("not released: the holder looks alive");
    expect(await walkFiles(join(root, "_sync"))).toContain("lock");

    const forced = await hbsync(["unlock", "--dest", root, "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("released _sync/lock");
    expect(await walkFiles(join(root, "_sync"))).not.toContain("lock");

    const exited = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((done) => exited.once("exit", done));
    const dead = { ...currentProcess(), pid: exited.pid as number };
    await acquireLock(store, { runId: "dead", owner: "vm", process: dead, leaseMs: 600_000 });
    const released = await hbsync(["unlock", "--dest", root, "--json"]);
    expect(released.code).toBe(0);
    expect(JSON.parse(released.stdout)).toMatchObject({ released: true, state: { state: "gone" } });
    expect((await hbsync(["unlock", "--dest", root])).stdout).toContain("no lease");
  });
});
