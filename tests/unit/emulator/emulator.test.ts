import { createHash } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { EMULATOR_PACKAGES_METADATA } from "../../../src/emulator/catalog.ts";
import { startEmulator } from "../../../src/emulator/emulator.ts";
import { VALID_OS_ARCH_TAGS } from "../../../src/homebrew/bottle-tags.ts";
import { renderInternalPackages } from "../../../src/homebrew/internal-packages.ts";
import { verifyJws } from "../../../src/homebrew/jws.ts";
import { bottleRefs } from "../../../src/homebrew/naming.ts";
import { withEmulator } from "../../helpers/emulator.ts";

const AUTH = { authorization: "Bearer QQ==" };
const sha256 = (bytes: ArrayBuffer | Uint8Array): string =>
  createHash("sha256")
    .update(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))
    .digest("hex");

describe("emulator", () => {
  const emulator = withEmulator({ synthetic: { formulae: 20, tags: ["arm64_sequoia", "x86_64_linux"] } });
  const bottle = (formula: string, tag: string) => {
    const found = emulator().index.bottles.find((b) => b.formula === formula && b.tag === tag);
    if (!found) throw new Error(`no ${formula} ${tag}`);
    return found;
  };
  const blobUrl = (b: { sha256: string }) => `${emulator().blobHost}/blobs/sha256:${b.sha256}`;

  beforeEach(() => {
    emulator().faults.clear();
  });

  describe("index", () => {
    it("serves the real fixture entries with sha256s rewritten to the blobs it serves", async () => {
      const names = emulator().index.formulae.map((f) => f.name);

      expect(names).toEqual(
        expect.arrayContaining(["openssl@3", "ca-certificates", "a2ps", "abi-dumper", "rust"]),
      );
      for (const formula of ["openssl@3", "ca-certificates", "a2ps"]) {
        for (const b of emulator().index.bottles.filter((candidate) => candidate.formula === formula)) {
          const response = await fetch(blobUrl(b));
          expect(sha256(await response.arrayBuffer())).toBe(b.sha256);
        }
      }
    });

    it("agrees with bottle naming for every bottle it lists", () => {
      for (const formula of emulator().index.formulae) {
        const refs = bottleRefs(formula, Object.keys(formula.bottle.stable?.files ?? {}));
        const served = emulator().index.bottles.filter((b) => b.formula === formula.name);
        expect(served.map((b) => b.key).sort()).toEqual(refs.map((r) => r.key).sort());
      }
    });

    it("adds synthetic formulae with @, ++, revisions, rebuilds and all-only bottles", () => {
      const synthetic = emulator().index.formulae.filter((f) => f.name.startsWith("synth"));

      expect(synthetic).toHaveLength(20);
      expect(synthetic.some((f) => f.name.includes("@"))).toBe(true);
      expect(synthetic.some((f) => f.name.endsWith("++"))).toBe(true);
      expect(synthetic.some((f) => f.revision > 0)).toBe(true);
      expect(synthetic.some((f) => (f.bottle.stable?.rebuild ?? 0) > 0)).toBe(true);
      expect(synthetic.some((f) => Object.keys(f.bottle.stable?.files ?? {}).join() === "all")).toBe(true);
    });

    it("builds the same content from the same seed", async () => {
      const other = await startEmulator({
        fixtures: false,
        synthetic: { formulae: 20, tags: ["arm64_sequoia", "x86_64_linux"] },
      });
      try {
        const mine = emulator().index.bottles.filter((b) => b.formula.startsWith("synth"));
        expect(other.index.bottles.map((b) => [b.key, b.size, b.sha256])).toEqual(
          mine.map((b) => [b.key, b.size, b.sha256]),
        );
      } finally {
        await other.close();
      }
    });

    it("publishes a new revision with new sha256s on bump", async () => {
      const local = await startEmulator({ fixtures: false, synthetic: { formulae: 2 } });
      try {
        const before = local.index.bottles.filter((b) => b.formula === "synth00000");
        await local.bump("synth00000");
        const after = local.index.bottles.filter((b) => b.formula === "synth00000");

        expect(after.map((b) => b.pkgVersion)).toEqual(before.map((b) => `${b.pkgVersion}_1`));
        expect(after.some((b) => before.some((old) => old.sha256 === b.sha256))).toBe(false);
        expect(local.index.bySha256.has(before[0]?.sha256 ?? "")).toBe(false);
      } finally {
        await local.close();
      }
    });
  });

  describe("API", () => {
    it("signs formula.jws.json with its key over the same payload as formula.json", async () => {
      const signed = await (await fetch(`${emulator().api}/formula.jws.json`)).text();
      const plain = await (await fetch(`${emulator().api}/formula.json`)).text();

      expect(verifyJws(signed, emulator().publicKey).payload).toBe(plain);
    });

    it("sets Last-Modified and answers 304 to If-Modified-Since", async () => {
      const first = await fetch(`${emulator().api}/cask.jws.json`);
      const lastModified = first.headers.get("last-modified") ?? "";

      const again = await fetch(`${emulator().api}/cask.jws.json`, {
        headers: { "if-modified-since": lastModified },
      });

      expect(first.status).toBe(200);
      expect(lastModified).toBe(emulator().lastModified.toUTCString());
      expect(again.status).toBe(304);
    });

    it("serves internal/packages.<tag> as Homebrew's generator writes it for the formula.json it serves", async () => {
      const payload = async (path: string): Promise<string> =>
        verifyJws(await (await fetch(`${emulator().api}/${path}`)).text(), emulator().publicKey).payload;
      const served = JSON.parse(await payload("formula.jws.json")) as Record<string, unknown>[];

      // renderInternalPackages is checked byte for byte against brew's own output (internal-packages.test.ts).
      for (const tag of ["x86_64_linux", "arm64_tahoe", "arm64_sequoia"]) {
        expect(await payload(`internal/packages.${tag}.jws.json`)).toBe(
          renderInternalPackages(served, tag, EMULATOR_PACKAGES_METADATA),
        );
      }
    });

    it("writes the fields brew 6 needs, per tag: stable_url_args, versions, the chosen bottle and its tag", async () => {
      const packages = async (tag: string) =>
        JSON.parse(
          verifyJws(
            await (await fetch(`${emulator().api}/internal/packages.${tag}.jws.json`)).text(),
            emulator().publicKey,
          ).payload,
        );
      const linux = await packages("x86_64_linux");
      const tahoe = await packages("arm64_tahoe");

      expect(linux.metadata).toMatchObject({ bottle_tag: "x86_64_linux", homebrew_version: "6.0.18" });
      expect(linux.formula_aliases).toEqual({ openssl: "openssl@3" });
      expect(linux.formula_renames).toEqual({ rustfmt: "rust" });
      expect(linux.formulae["openssl@3"]).toMatchObject({
        stable_url_args: ["https://www.openssl.org/source/openssl-3.0.5.tar.gz"],
        stable_version: "3.0.5",
        stable_dependencies: ["ca-certificates"],
        bottle_checksum: bottle("openssl@3", "x86_64_linux").sha256,
        bottle_cellar: "/home/linuxbrew/.linuxbrew/Cellar",
      });
      expect(linux.formulae["openssl@3"]).not.toHaveProperty("bottle_tag");
      expect(linux.formulae["ca-certificates"]).toMatchObject({
        bottle_tag: ":all",
        revision: 1,
        bottle_checksum: bottle("ca-certificates", "all").sha256,
      });
      expect(linux.formulae.wget.stable_uses_from_macos).toEqual([["zlib"]]);
      // arm64_tahoe: no fixture has a tahoe bottle; brew (generating on macOS) picks the newest older one.
      expect(tahoe.formulae.wget).toMatchObject({
        bottle_tag: ":arm64_sequoia",
        bottle_checksum: bottle("wget", "arm64_sequoia").sha256,
      });
      expect(tahoe.formulae.a2ps).toMatchObject({ bottle_tag: ":arm64_monterey", bottle_rebuild: 4 });
      expect(tahoe.formulae.rust).toMatchObject({ revision: 1, stable_version: "1.83.0" });
      const synthetic = linux.formulae.synth00001;
      expect(synthetic).toMatchObject({
        revision: 1,
        bottle_checksum: bottle("synth00001", "x86_64_linux").sha256,
      });
    });

    it("serves a per-tag file for every tag brew 6 generates, and none for tags it dropped", async () => {
      expect(emulator().index.tags).toEqual(expect.arrayContaining([...VALID_OS_ARCH_TAGS]));
      expect(emulator().index.tags).not.toContain("mojave");
      expect((await fetch(`${emulator().api}/internal/packages.arm64_linux.jws.json`)).status).toBe(200);
    });
  });

  describe("registry", () => {
    it("requires the anonymous bearer token", async () => {
      const b = bottle("openssl@3", "x86_64_linux");
      const url = `${emulator().registry}/${b.image}/manifests/${b.versionRebuild}`;

      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: AUTH })).status).toBe(200);
    });

    it("redirects blobs with 307 to the blob host", async () => {
      const b = bottle("openssl@3", "x86_64_linux");

      const response = await fetch(`${emulator().registry}/${b.image}/blobs/sha256:${b.sha256}`, {
        headers: AUTH,
        redirect: "manual",
      });

      expect(response.status).toBe(307);
      expect(response.headers.get("location")).toBe(blobUrl(b));
    });

    it("does not serve a blob under another image", async () => {
      const b = bottle("openssl@3", "x86_64_linux");

      const response = await fetch(`${emulator().registry}/wget/blobs/sha256:${b.sha256}`, {
        headers: AUTH,
        redirect: "manual",
      });

      expect(response.status).toBe(404);
    });

    it("counts manifest and blob requests", async () => {
      emulator().resetStats();
      const b = bottle("wget", "arm64_sequoia");

      await fetch(`${emulator().registry}/${b.image}/manifests/${b.versionRebuild}`, { headers: AUTH });
      await (
        await fetch(`${emulator().registry}/${b.image}/blobs/sha256:${b.sha256}`, {
          headers: AUTH,
          redirect: "manual",
        })
      ).text();

      expect(emulator().stats).toMatchObject({ manifestRequests: 1, blobRequests: 1, blobHostRequests: 0 });
    });
  });

  describe("blob host", () => {
    it("serves Content-Length and byte ranges", async () => {
      const b = bottle("openssl@3", "x86_64_linux");
      const whole = Buffer.from(await (await fetch(blobUrl(b))).arrayBuffer());

      const partial = await fetch(blobUrl(b), { headers: { range: "bytes=10-19" } });
      const suffix = await fetch(blobUrl(b), { headers: { range: "bytes=-5" } });
      const head = await fetch(blobUrl(b), { method: "HEAD" });

      expect(whole.length).toBe(b.size);
      expect(partial.status).toBe(206);
      expect(partial.headers.get("content-range")).toBe(`bytes 10-19/${b.size}`);
      expect(Buffer.from(await partial.arrayBuffer()).equals(whole.subarray(10, 20))).toBe(true);
      expect(Buffer.from(await suffix.arrayBuffer()).equals(whole.subarray(b.size - 5))).toBe(true);
      expect(head.headers.get("content-length")).toBe(String(b.size));
    });

    it("answers 416 to a range past the end", async () => {
      const b = bottle("openssl@3", "x86_64_linux");

      expect((await fetch(blobUrl(b), { headers: { range: `bytes=${b.size}-` } })).status).toBe(416);
    });

    it("rejects any Authorization header with 400", async () => {
      const b = bottle("openssl@3", "x86_64_linux");

      const response = await fetch(blobUrl(b), { headers: { authorization: "Basic dXNlcjpwYXNz" } });

      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(/must never receive an Authorization header/);
    });
  });

  describe("faults", () => {
    it("answers an injected status only as many times as asked", async () => {
      const b = bottle("wget", "arm64_sequoia");
      emulator().faults.inject({
        match: b.sha256,
        host: "blob",
        times: 2,
        fault: { kind: "status", status: 500 },
      });

      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(blobUrl(b))).status);

      expect(statuses).toEqual([500, 500, 200]);
    });

    it("sends Retry-After with a 429", async () => {
      emulator().faults.inject({
        match: "/formula.jws.json",
        fault: { kind: "status", status: 429, retryAfter: 7 },
      });

      const response = await fetch(`${emulator().api}/formula.jws.json`);

      expect(response.status).toBe(429);
      expect(response.headers.get("retry-after")).toBe("7");
    });

    it("corrupts one byte without changing the length", async () => {
      const b = bottle("wget", "arm64_sequoia");
      emulator().faults.inject({ match: b.sha256, fault: { kind: "corrupt" } });

      const body = Buffer.from(await (await fetch(blobUrl(b))).arrayBuffer());

      expect(body.length).toBe(b.size);
      expect(sha256(body)).not.toBe(b.sha256);
    });

    it("truncates a body after N bytes (the client sees the connection end early)", async () => {
      const b = bottle("wget", "arm64_sequoia");
      emulator().faults.inject({ match: b.sha256, fault: { kind: "truncate", afterBytes: 100 } });

      const response = await fetch(blobUrl(b));

      expect(response.headers.get("content-length")).toBe(String(b.size));
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it("lands a body fault on the blob host, not on the registry redirect", async () => {
      const b = bottle("wget", "arm64_sequoia");
      const rule = emulator().faults.inject({ match: b.sha256, fault: { kind: "corrupt" } });

      const redirect = await fetch(`${emulator().registry}/${b.image}/blobs/sha256:${b.sha256}`, {
        headers: AUTH,
        redirect: "manual",
      });

      expect(redirect.status).toBe(307);
      expect(rule.remaining()).toBe(1);
    });

    it("throttles a slow body but still serves the right bytes", async () => {
      const b = bottle("ca-certificates", "all");
      emulator().faults.inject({
        match: b.sha256,
        fault: { kind: "slow", delayMs: 10, bytesPerSecond: 50 * 1024 * 1024 },
      });

      const body = await (await fetch(blobUrl(b))).arrayBuffer();

      expect(sha256(body)).toBe(b.sha256);
      expect(emulator().faults.fired.at(-1)).toMatchObject({ kind: "slow", host: "blob" });
    });

    it("resets the connection", async () => {
      emulator().faults.inject({ match: "/cask.jws.json", fault: { kind: "reset" } });

      await expect(fetch(`${emulator().api}/cask.jws.json`)).rejects.toThrow(/fetch failed/);
    });

    it("tampers with a signature so it no longer verifies", async () => {
      emulator().faults.inject({ match: "/formula.jws.json", fault: { kind: "tamper-signature" } });

      const text = await (await fetch(`${emulator().api}/formula.jws.json`)).text();

      expect(() => verifyJws(text, emulator().publicKey)).toThrow(/signature mismatch/);
    });
  });
});
