/**
 * mirror.brew_git against a local bare repository standing in for github.com/Homebrew/brew: publish,
 * then the real `git clone` / `git fetch` over git's dumb HTTP protocol from `hbsync serve` (a folder
 * store) and from s3rver's plain GET endpoint (an S3 store, read anonymously as a static bucket).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type BrewGitOptions, brewGitPhase, publishBrewGit } from "../../../src/mirror/git/publish.ts";
import {
  BREW_GIT_PREFIX,
  BREW_GIT_RECORD_KEY,
  HEAD_KEY,
  INFO_PACKS_KEY,
  INFO_REFS_KEY,
  loadRecord,
  packKey,
} from "../../../src/mirror/git/record.ts";
import { type MirrorServer, startServe } from "../../../src/mirror/serve.ts";
import { readBytes } from "../../../src/mirror/state.ts";
import type { BlobStore } from "../../../src/storage/blob-store.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { S3Store } from "../../../src/storage/s3.ts";
import { createGitUpstream, type GitUpstream, git } from "../../helpers/git-upstream.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";

const DAY = 24 * 60 * 60 * 1000;

/** Every key under git/brew.git/objects/pack/, sorted. */
async function packKeys(store: BlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of store.list(`${BREW_GIT_PREFIX}objects/pack/`)) keys.push(entry.key);
  return keys.sort();
}

/** A store that records the order of writes and can fail one key's put. */
function recording(inner: BlobStore): BlobStore & { puts: string[]; failOn: Set<string> } {
  const puts: string[] = [];
  const failOn = new Set<string>();
  return Object.assign(Object.create(inner) as BlobStore, {
    puts,
    failOn,
    put: async (...args: Parameters<BlobStore["put"]>) => {
      if (failOn.delete(args[0])) throw new Error(`injected failure writing ${args[0]}`);
      puts.push(args[0]);
      return inner.put(...args);
    },
  });
}

describe("brew's git over dumb HTTP (mirror.brew_git)", () => {
  let dir = "";
  let upstream: GitUpstream;
  let store: BlobStore;
  let server: MirrorServer;
  let requests: string[];
  let options: BrewGitOptions;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-brew-git-"));
    upstream = await createGitUpstream();
    store = new FsStore(join(dir, "mirror"));
    requests = [];
    server = await startServe({ store, onRequest: (line) => requests.push(`${line.method} ${line.path}`) });
    options = { store, upstream: upstream.url, workDir: join(dir, "cache/brew.git"), retentionDays: 7 };
  });
  afterEach(async () => {
    await server.close();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  const remote = (): string => `${server.url}/git/brew.git`;
  const clone = async (name = "client"): Promise<string> => {
    await git(dir, "clone", "--quiet", remote(), name);
    return join(dir, name);
  };

  it("publishes branches, tags and HEAD that a dumb-HTTP git clone from hbsync serve reads in full", async () => {
    await upstream.commit("Initial commit", { "README.md": "Homebrew\n" });
    await upstream.commit("brew: 4.9.0", { VERSION: "4.9.0\n" });
    await upstream.tag("4.9.0");
    await upstream.commit("work in progress", {}, "feature");

    const report = await publishBrewGit(options);

    expect(report).toMatchObject({ status: "published", head: "refs/heads/main", refs: 3, livePacks: 1 });
    expect(report.uploaded).toHaveLength(1);
    const client = await clone();
    expect((await git(client, "log", "--format=%H")).trim().split("\n")).toEqual(await upstream.log());
    expect((await git(client, "branch", "--show-current")).trim()).toBe("main");
    expect((await git(client, "tag", "--list")).trim()).toBe("4.9.0");
    expect(
      (await git(client, "branch", "--remotes"))
        .trim()
        .split("\n")
        .map((b) => b.trim()),
    ).toEqual(["origin/HEAD -> origin/main", "origin/feature", "origin/main"]);
    await git(client, "fsck", "--full", "--strict");
    // The dumb protocol: plain files only, no git-upload-pack endpoint was offered or needed.
    expect(requests).toContain("GET /git/brew.git/info/refs?service=git-upload-pack");
    expect(requests).toContain("GET /git/brew.git/objects/info/packs");
    expect(requests.filter((line) => line.startsWith("POST"))).toEqual([]);
    expect((await readBytes(store, HEAD_KEY))?.toString()).toBe("ref: refs/heads/main\n");
  });

  it("uploads only one new pack after new commits, leaves the earlier pack as it was, and a git fetch gets the commit", async () => {
    for (let i = 0; i < 6; i++)
      await upstream.commit(`history ${i}`, { [`f${i}.txt`]: `${"x".repeat(500)}${i}\n` });
    const first = await publishBrewGit(options);
    const before = await packKeys(store);
    const firstPack = first.uploaded[0];
    if (!firstPack) throw new Error("the first run uploaded no pack");
    const firstBytes = await readBytes(store, packKey(firstPack.name, "pack"));
    const client = await clone();

    const head = await upstream.commit("brew: a new day", { "new.txt": "today\n" });
    const second = await publishBrewGit(options);

    expect(second.status).toBe("published");
    expect(second.uploaded).toHaveLength(1);
    const newPack = second.uploaded[0];
    // commit + tree + blob: what the new ref reaches beyond the old one, not the history again.
    expect(newPack?.objects).toBe(3);
    expect(second.bytesUploaded).toBeLessThan(first.bytesUploaded);
    const after = await packKeys(store);
    expect(after.filter((key) => !before.includes(key))).toEqual([
      packKey(newPack?.name ?? "", "idx"),
      packKey(newPack?.name ?? "", "pack"),
    ]);
    expect(after).toEqual(expect.arrayContaining(before));
    expect(await readBytes(store, packKey(firstPack.name, "pack"))).toEqual(firstBytes);
    expect((await readBytes(store, INFO_PACKS_KEY))?.toString().trim().split("\n").sort()).toEqual(
      [`P ${firstPack.name}.pack`, `P ${newPack?.name}.pack`].sort(),
    );

    await git(client, "fetch", "--quiet");
    expect((await git(client, "rev-parse", "origin/main")).trim()).toBe(head);
    await git(client, "fsck", "--full");

    // Nothing new upstream: nothing uploaded, nothing rewritten.
    const puts = recording(store);
    const third = await publishBrewGit({ ...options, store: puts });
    expect(third).toMatchObject({ status: "unchanged", uploaded: [] });
    expect(puts.puts).toEqual([]);
  });

  it("writes the packs, then the record, then objects/info/packs, then info/refs, then HEAD", async () => {
    await upstream.commit("one");
    const puts = recording(store);
    await publishBrewGit({ ...options, store: puts });
    const order = puts.puts.map((key) =>
      key.endsWith(".pack") ? "pack" : key.endsWith(".idx") ? "idx" : key.slice(key.lastIndexOf("/") + 1),
    );
    expect(order).toEqual(["pack", "idx", "brew.json", "packs", "refs", "HEAD"]);
  });

  it("keeps the published refs when a run fails before writing them; the next run publishes them", async () => {
    const old = await upstream.commit("one");
    await publishBrewGit(options);
    const fresh = await upstream.commit("two");
    const failing = recording(store);
    failing.failOn.add(INFO_REFS_KEY);

    const failed = await brewGitPhase({ ...options, store: failing });

    expect(failed).toMatchObject({ status: "failed", error: `injected failure writing ${INFO_REFS_KEY}` });
    const client = await clone();
    expect((await git(client, "rev-parse", "HEAD")).trim()).toBe(old);
    const retried = await publishBrewGit(options);
    expect(retried).toMatchObject({ status: "published", uploaded: [] });
    await git(client, "fetch", "--quiet");
    expect((await git(client, "rev-parse", "origin/main")).trim()).toBe(fresh);
  });

  it("rebuilds an empty cache from the store's packs, then uploads only what is new", async () => {
    for (let i = 0; i < 4; i++) await upstream.commit(`history ${i}`);
    await publishBrewGit(options);
    await rm(options.workDir, { recursive: true, force: true });
    await upstream.commit("after the cache was lost");

    const report = await publishBrewGit(options);

    expect(report.uploaded.map((pack) => pack.objects)).toEqual([3]);
    const client = await clone();
    expect((await git(client, "log", "--format=%H")).trim().split("\n")).toEqual(await upstream.log());
  });

  it("merges packs beyond maxPacks; merged-away packs stay in the store for the grace period, then go", async () => {
    let clock = Date.parse("2026-03-01T00:00:00Z");
    const timed = { ...options, maxPacks: 2, retentionDays: 1, now: () => new Date(clock) };
    await upstream.commit("one");
    await publishBrewGit(timed);
    const staleList = (await readBytes(store, INFO_PACKS_KEY))?.toString();
    await upstream.commit("two");
    await publishBrewGit(timed);
    await upstream.commit("three");

    const merging = await publishBrewGit(timed);

    expect(merging).toMatchObject({ livePacks: 2, retired: 2 });
    expect(merging.uploaded).toHaveLength(2); // the new pack, then the merged one
    const record = await loadRecord(store);
    const retired = Object.keys(record?.retired ?? {});
    expect(retired).toHaveLength(2);
    // A client that read the older list still finds every pack it names.
    for (const line of staleList?.trim().split("\n") ?? []) {
      const name = line.replace(/^P (.*)\.pack$/, "$1");
      expect(await store.stat(packKey(name, "pack"))).not.toBeNull();
      expect(await store.stat(packKey(name, "idx"))).not.toBeNull();
    }
    const client = await clone();
    await git(client, "fsck", "--full");

    clock += 2 * DAY;
    const pruning = await publishBrewGit(timed);

    expect(pruning).toMatchObject({ status: "unchanged", pruned: 2, livePacks: 2 });
    for (const name of retired) expect(await store.stat(packKey(name, "pack"))).toBeNull();
    expect(await packKeys(store)).toHaveLength(4);
    const later = await clone("later");
    expect((await git(later, "log", "--format=%H")).trim().split("\n")).toEqual(await upstream.log());
    await git(later, "fsck", "--full");
  });

  it("deletes at once a pack no published list ever named (a crashed run's upload)", async () => {
    await upstream.commit("one");
    await publishBrewGit(options);
    const stray = `pack-${"ab".repeat(20)}`;
    await store.put(packKey(stray, "pack"), "not a pack");
    await store.put(packKey(stray, "idx"), "not an index");

    await publishBrewGit(options);

    expect(await store.stat(packKey(stray, "pack"))).toBeNull();
    expect(await store.stat(packKey(stray, "idx"))).toBeNull();
  });

  it("refuses a published pack that differs from the record, and says how to recover", async () => {
    await upstream.commit("one");
    const first = await publishBrewGit(options);
    await rm(options.workDir, { recursive: true, force: true });
    const name = first.uploaded[0]?.name ?? "";
    await store.put(packKey(name, "pack"), "damaged");

    await expect(publishBrewGit(options)).rejects.toThrow(
      `${packKey(name, "pack")} differs from ${BREW_GIT_RECORD_KEY}`,
    );
    await expect(publishBrewGit(options)).rejects.toMatchObject({
      fix: expect.stringContaining(`delete ${BREW_GIT_RECORD_KEY}`),
    });
  });

  it("fails with git's reason when the upstream is unreachable, after retries, and publishes nothing", async () => {
    const missing = join(dir, "no-such-repository.git");
    const attempts: number[] = [];

    const report = await brewGitPhase({
      ...options,
      upstream: missing,
      retry: { baseMs: 1, onRetry: (info) => attempts.push(info.attempt) },
    });

    expect(report.status).toBe("failed");
    expect(report.error).toContain("git ls-remote --symref");
    expect(report.error).toContain("does not appear to be a git repository");
    expect(attempts).toEqual([1, 2]);
    expect(await packKeys(store)).toEqual([]);
    expect(await store.stat(INFO_REFS_KEY)).toBeNull();
  });
});

describe("brew's git from s3rver's plain GET endpoint (a static bucket)", () => {
  let s3: S3rverHandle;
  let dir = "";
  let upstream: GitUpstream;
  let store: S3Store;

  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3?.close();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-brew-git-s3-"));
    upstream = await createGitUpstream();
    store = new S3Store({ bucket: s3.bucket, prefix: "mirror", clientConfig: s3.clientConfig });
  });
  afterEach(async () => {
    await store.close?.();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves a clone and, after one more sync, a fetch, with exactly one new pack in the bucket", async () => {
    const options = { store, upstream: upstream.url, workDir: join(dir, "cache"), retentionDays: 7 };
    await upstream.commit("Initial commit", { "README.md": "Homebrew\n" });
    await upstream.tag("4.9.0");
    await publishBrewGit(options);
    // Anonymous, unsigned GETs at the path-style URL: what a static bucket (or CloudFront) gives brew.
    const remote = `${s3.endpoint}/${s3.bucket}/mirror/git/brew.git`;
    const refs = await fetch(`${remote}/info/refs?service=git-upload-pack`);
    expect(refs.status).toBe(200);
    await git(dir, "clone", "--quiet", remote, "client");
    const client = join(dir, "client");
    expect((await git(client, "tag", "--list")).trim()).toBe("4.9.0");
    const before = await packKeys(store);

    const head = await upstream.commit("brew: 4.9.1", { VERSION: "4.9.1\n" });
    const report = await publishBrewGit(options);

    const after = await packKeys(store);
    expect(after.filter((key) => !before.includes(key))).toHaveLength(2);
    expect(report.uploaded.map((pack) => pack.objects)).toEqual([3]);
    await git(client, "fetch", "--quiet");
    expect((await git(client, "rev-parse", "origin/main")).trim()).toBe(head);
    await git(client, "fsck", "--full");
    expect(await refs.text()).toContain("\trefs/tags/4.9.0^{}\n");
  });
});
