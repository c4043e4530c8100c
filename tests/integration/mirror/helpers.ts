import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { HomebrewApiClient } from "../../../src/homebrew/api-client.ts";
import { urlEncodeSegment } from "../../../src/homebrew/naming.ts";
import { RegistryClient } from "../../../src/homebrew/registry-client.ts";
import type { MirrorSettings } from "../../../src/mirror/prepare.ts";
import type { TestEmulator } from "../../helpers/emulator.ts";

export const TAGS = ["arm64_sequoia", "arm64_monterey", "x86_64_linux"];

export function mirrorSettings(overrides: Partial<MirrorSettings> = {}): MirrorSettings {
  return {
    tags: TAGS,
    include: [],
    exclude: [],
    retentionDays: 7,
    concurrency: { checkers: 4, transfers: 4 },
    ...overrides,
  };
}

/** The CLI flags that point a mirror command at `dest` and the emulator (trusting its key). */
export function upstreamFlags(emulator: TestEmulator, dest: string): string[] {
  return [
    ...["--dest", dest, "--upstream-api", emulator.api, "--upstream-registry", emulator.registry],
    ...["--trusted-key", emulator.publicKeyPath],
  ];
}

/** The real clients, pointed at the emulator and trusting its key. */
export function clientsFor(emulator: TestEmulator): { api: HomebrewApiClient; registry: RegistryClient } {
  const retry = { retries: 3, baseMs: 5, maxMs: 20 };
  return {
    api: new HomebrewApiClient({ apiBase: emulator.api, trustedKey: emulator.publicKey, retry }),
    registry: new RegistryClient({ registryBase: emulator.registry, retry }),
  };
}

/** Every file under `dir`, relative, sorted (empty when `dir` does not exist). */
export async function walkFiles(dir: string, prefix = ""): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const relative = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await walkFiles(dir, relative)));
    else files.push(relative);
  }
  return files.sort();
}

/** The bottles of the emulator's index a mirror of `tags` must hold (`all` always comes along). */
export function expectedBottles(emulator: TestEmulator, tags: readonly string[] = TAGS) {
  return emulator.index.bottles.filter((bottle) => tags.includes(bottle.tag) || bottle.tag === "all");
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Fetches every expected bottle through a mirror server at the URL brew computes (flat file name,
 * percent-encoded), its manifest at `<domain>/<image>/manifests/<version_rebuild>`, and the API files;
 * asserts sha256 and byte-identity.
 */
export async function assertServedLikeBrew(
  emulator: TestEmulator,
  base: { bottleDomain: string; apiDomain: string },
  tags: readonly string[] = TAGS,
): Promise<number> {
  const bottles = expectedBottles(emulator, tags);
  expect(bottles.length).toBeGreaterThan(10);
  for (const bottle of bottles) {
    const filename = bottle.key.slice("bottles/".length);
    const response = await fetch(`${base.bottleDomain}/${urlEncodeSegment(filename)}`);
    expect(response.status, filename).toBe(200);
    expect(sha256(new Uint8Array(await response.arrayBuffer())), filename).toBe(bottle.sha256);
    const manifest = await fetch(`${base.bottleDomain}/${bottle.image}/manifests/${bottle.versionRebuild}`);
    expect(manifest.status, bottle.manifestKey).toBe(200);
    await manifest.arrayBuffer();
  }
  const apiFiles = [
    "formula.jws.json",
    "cask.jws.json",
    "formula_tap_migrations.jws.json",
    "cask_tap_migrations.jws.json",
    ...tags.map((tag) => `internal/packages.${tag}.jws.json`),
  ];
  for (const path of apiFiles) {
    const upstream = emulator.index.files.get(path);
    if (!upstream) continue;
    const response = await fetch(`${base.apiDomain}/${path}`);
    expect(response.status, path).toBe(200);
    expect(response.headers.get("last-modified"), path).toBeTruthy();
    expect(Buffer.from(await response.arrayBuffer()).equals(upstream), path).toBe(true);
  }
  return bottles.length;
}

/**
 * What brew downloads instead of a ghcr.io URL when HOMEBREW_ARTIFACT_DOMAIN is set: Homebrew/brew
 * `CurlDownloadStrategy#fetch` (download_strategy/curl_download_strategy.rb, commit aad366ff): the domain
 * (trailing `/` chomped) replaces `https://ghcr.io/`, or `https://ghcr.io/v2/` when the domain already
 * ends its host part with `/v2` (docs/homebrew-contract.md).
 */
export function brewArtifactUrl(url: string, artifactDomain: string): string {
  const domain = artifactDomain.replace(/\/$/, "");
  const containsV2 = /^https?:\/\/[^/]+\/v2(?:\/|$)/.test(domain);
  return containsV2
    ? url.replace(/^https?:\/\/ghcr\.io\/v2\//, `${domain}/`)
    : url.replace(/^https?:\/\/ghcr\.io\//, `${domain}/`);
}

/**
 * Fetches every expected bottle and its manifest as brew does with HOMEBREW_ARTIFACT_DOMAIN=`domain`:
 * the ghcr.io URLs (`/v2/homebrew/core/<image>/blobs/sha256:<sha>`, `…/manifests/<version_rebuild>`)
 * rewritten onto the mirror. Asserts each bottle's sha256, and that each manifest holds the bytes the
 * upstream registry (the emulator) serves at the same path. Returns how many bottles it fetched.
 */
export async function assertServedLikeBrewOci(
  emulator: TestEmulator,
  domain: string,
  tags: readonly string[] = TAGS,
): Promise<number> {
  const bottles = expectedBottles(emulator, tags);
  expect(bottles.length).toBeGreaterThan(10);
  const upstream = emulator.registry.slice(0, -"/v2/homebrew/core".length);
  for (const bottle of bottles) {
    const blob = `https://ghcr.io/v2/homebrew/core/${bottle.image}/blobs/sha256:${bottle.sha256}`;
    const response = await fetch(brewArtifactUrl(blob, domain));
    expect(response.status, blob).toBe(200);
    expect(sha256(new Uint8Array(await response.arrayBuffer())), blob).toBe(bottle.sha256);
    const manifest = `https://ghcr.io/v2/homebrew/core/${bottle.image}/manifests/${bottle.versionRebuild}`;
    const headers = { accept: "application/vnd.oci.image.index.v1+json" };
    const served = await fetch(brewArtifactUrl(manifest, domain), { headers });
    expect(served.status, manifest).toBe(200);
    const original = await fetch(brewArtifactUrl(manifest, upstream), {
      headers: { ...headers, authorization: "Bearer QQ==" },
    });
    expect(original.status, manifest).toBe(200);
    expect(
      Buffer.from(await served.arrayBuffer()).equals(Buffer.from(await original.arrayBuffer())),
      manifest,
    ).toBe(true);
  }
  return bottles.length;
}
