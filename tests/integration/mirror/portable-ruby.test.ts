/**
 * Portable Ruby from the brew the mirror publishes (mirror.brew_git): a local repository stands in for
 * Homebrew/brew with vendor files naming blobs the emulator's registry serves under the `portable-ruby`
 * image. After a sync, the URLs vendor-install.sh builds (HOMEBREW_BOTTLE_DOMAIN's flat name, and
 * HOMEBREW_ARTIFACT_DOMAIN's OCI path) give the bytes it checks against ruby_SHA.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { INFO_REFS_KEY } from "../../../src/mirror/git/record.ts";
import { ociBlobKey } from "../../../src/mirror/layouts.ts";
import { startServe } from "../../../src/mirror/serve.ts";
import { loadState, readBytes } from "../../../src/mirror/state.ts";
import { syncMirror } from "../../../src/mirror/sync.ts";
import { verifyMirror } from "../../../src/mirror/verify.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { createGitUpstream, type GitUpstream } from "../../helpers/git-upstream.ts";
import { clientsFor, mirrorSettings, sha256 } from "./helpers.ts";

const VENDOR = "Library/Homebrew/vendor";

/** The vendor files of a brew revision naming `rubies` (platform → tag and sha256). */
function vendorFiles(version: string, rubies: Record<string, { tag: string; sha256: string }>) {
  const files: Record<string, string> = { [`${VENDOR}/portable-ruby-version`]: `${version}\n` };
  for (const [platform, { tag, sha256 }] of Object.entries(rubies)) {
    files[`${VENDOR}/portable-ruby-${platform}`] = `ruby_TAG=${tag}\nruby_SHA=${sha256}\n`;
  }
  return files;
}

/** The URLs cmd/vendor-install.sh tries (aad366ff `set_ruby_variables`), for one of the two domains. */
function vendorInstallUrl(
  domain: { artifact?: string; bottle?: string },
  ruby: { version: string; tag: string; sha256: string },
): string {
  if (domain.artifact !== undefined) {
    let artifact = domain.artifact.replace(/\/$/, "");
    if (!/^https?:\/\/[^/]+\/v2(\/|$)/.test(artifact)) artifact = `${artifact}/v2`;
    return `${artifact}/homebrew/core/portable-ruby/blobs/sha256:${ruby.sha256}`;
  }
  return `${domain.bottle}/portable-ruby-${ruby.version}.${ruby.tag}.bottle.tar.gz`;
}

describe("Portable Ruby with mirror.brew_git (emulator and a local upstream repository)", () => {
  const emulator = withEmulator({ synthetic: { formulae: 4, tags: ["x86_64_linux"] } });
  let dir = "";
  let root = "";
  let upstream: GitUpstream;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-portable-ruby-"));
    root = join(dir, "mirror");
    upstream = await createGitUpstream();
  });
  afterEach(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sync = (runId: string, now?: () => Date) =>
    syncMirror({
      store: new FsStore(root),
      ...clientsFor(emulator()),
      settings: mirrorSettings({ tags: ["x86_64_linux"], layouts: ["flat", "oci"], retentionDays: 1 }),
      runId,
      brewGit: { upstream: upstream.url, workDir: join(dir, "cache/brew.git") },
      ...(now ? { now } : {}),
    });
  const rubyBytes = (name: string) => Buffer.from(`portable ruby ${name}\n`.repeat(500));

  it("mirrors the Portable Rubies HEAD and the newest tag name, at the flat name and the OCI path vendor-install.sh tries", async () => {
    const linux = { tag: "x86_64_linux", ...emulator().addBlob("portable-ruby", rubyBytes("4.0.5 linux")) };
    const mac = { tag: "arm64_big_sur", ...emulator().addBlob("portable-ruby", rubyBytes("4.0.5 mac")) };
    await upstream.commit("4.0.5", vendorFiles("4.0.5", { "x86_64-linux": linux, "arm64-darwin": mac }));
    await upstream.tag("6.0.17");
    const next = { tag: "x86_64_linux", ...emulator().addBlob("portable-ruby", rubyBytes("4.0.6 linux")) };
    await upstream.commit("4.0.6 on main", vendorFiles("4.0.6", { "x86_64-linux": next }));

    const { report } = await sync("ruby");

    expect(report.status, JSON.stringify(report.errors)).toBe("succeeded");
    // HEAD's arm64-darwin file is the tag's (only the Linux one changed): brew names it 4.0.6 there too.
    expect(report.git?.portableRuby).toMatchObject({ versions: ["4.0.6", "4.0.5"], fetched: 4, kept: 0 });
    const server = await startServe({ store: new FsStore(root) });
    try {
      for (const ruby of [
        { version: "4.0.5", ...linux },
        { version: "4.0.5", ...mac },
        { version: "4.0.6", ...next },
        { version: "4.0.6", ...mac },
      ]) {
        for (const domain of [{ bottle: server.bottleDomain }, { artifact: server.url }]) {
          const url = vendorInstallUrl(domain, ruby);
          const response = await fetch(url);
          expect(response.status, url).toBe(200);
          expect(sha256(new Uint8Array(await response.arrayBuffer())), url).toBe(ruby.sha256);
        }
      }
    } finally {
      await server.close();
    }
    const flat = await stat(join(root, "bottles/portable-ruby-4.0.6.x86_64_linux.bottle.tar.gz"));
    const oci = await stat(join(root, ociBlobKey("portable-ruby", next.sha256)));
    expect(oci.ino).toBe(flat.ino);
    const verified = await verifyMirror({ store: new FsStore(root) });
    expect(verified.problems).toEqual([]);
    expect(Object.keys((await loadState(new FsStore(root))).portableRuby ?? {})).toHaveLength(4);

    const again = await sync("again");
    expect(again.report.git?.portableRuby).toMatchObject({ fetched: 0, kept: 4 });
  });

  it("refuses a Portable Ruby whose bytes are not its ruby_SHA: nothing stored, the refs and the mirror as they were", async () => {
    const good = { tag: "x86_64_linux", ...emulator().addBlob("portable-ruby", rubyBytes("good")) };
    await upstream.commit("4.0.5", vendorFiles("4.0.5", { "x86_64-linux": good }));
    expect((await sync("first")).report.status).toBe("succeeded");
    const store = new FsStore(root);
    const refsBefore = (await readBytes(store, INFO_REFS_KEY))?.toString("utf8");
    const stateBefore = await loadState(store);
    const claimed = createHash("sha256").update("what ruby_SHA says").digest("hex");
    emulator().addBlob("portable-ruby", rubyBytes("tampered"), { sha256: claimed });
    await upstream.commit(
      "4.0.6",
      vendorFiles("4.0.6", { "x86_64-linux": { tag: "x86_64_linux", sha256: claimed } }),
    );

    const { report } = await sync("tampered");

    expect(report.status).toBe("failed");
    expect(report.git?.status).toBe("failed");
    expect(report.errors.map((error) => error.message).join("\n")).toMatch(
      /Portable Ruby 4\.0\.6 \(x86_64_linux\) not mirrored: .*sha256 differs/,
    );
    await expect(stat(join(root, "bottles/portable-ruby-4.0.6.x86_64_linux.bottle.tar.gz"))).rejects.toThrow(
      /ENOENT/,
    );
    await expect(stat(join(root, ociBlobKey("portable-ruby", claimed)))).rejects.toThrow(/ENOENT/);
    // A client never sees the brew revision whose Ruby is missing: its refs were not published.
    expect((await readBytes(store, INFO_REFS_KEY))?.toString("utf8")).toBe(refsBefore);
    expect((await loadState(store)).portableRuby).toEqual(stateBefore.portableRuby);
    const kept = await readFile(join(root, "bottles/portable-ruby-4.0.5.x86_64_linux.bottle.tar.gz"));
    expect(sha256(kept)).toBe(good.sha256);
  });

  it("verify --repair brings back a deleted Portable Ruby from its recorded sha256 (no git fetch needed)", async () => {
    const linux = { tag: "x86_64_linux", ...emulator().addBlob("portable-ruby", rubyBytes("repair")) };
    await upstream.commit("4.0.5", vendorFiles("4.0.5", { "x86_64-linux": linux }));
    expect((await sync("first")).report.status).toBe("succeeded");
    const key = "bottles/portable-ruby-4.0.5.x86_64_linux.bottle.tar.gz";
    await rm(join(root, key));
    await writeFile(join(root, ociBlobKey("portable-ruby", linux.sha256)), "damaged");
    const found = await verifyMirror({ store: new FsStore(root) });
    expect(found.problems.map((problem) => problem.key).sort()).toEqual(
      [key, ociBlobKey("portable-ruby", linux.sha256)].sort(),
    );

    const repaired = await syncMirror({
      store: new FsStore(root),
      ...clientsFor(emulator()),
      settings: mirrorSettings({ tags: ["x86_64_linux"], layouts: ["flat", "oci"] }),
      runId: "repair",
      forget: found.problems.map((problem) => problem.key),
    });

    expect(repaired.report.status, JSON.stringify(repaired.report.errors)).toBe("succeeded");
    expect((await verifyMirror({ store: new FsStore(root) })).problems).toEqual([]);
    expect(sha256(await readFile(join(root, key)))).toBe(linux.sha256);
  });
});
