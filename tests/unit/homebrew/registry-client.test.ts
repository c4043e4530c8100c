import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UpstreamError } from "../../../src/homebrew/errors.ts";
import { parseManifest, RegistryClient, tagFromRefName } from "../../../src/homebrew/registry-client.ts";
import { startTestEmulator, withEmulator } from "../../helpers/emulator.ts";

async function sha256Of(body: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

describe("homebrew/registry-client", () => {
  const emulator = withEmulator({ synthetic: { formulae: 3 } });
  const client = (options: { token?: string; sleeps?: number[] } = {}) =>
    new RegistryClient({
      registryBase: emulator().registry,
      ...(options.token ? { token: options.token } : {}),
      retry: { random: () => 0, sleep: async (ms) => void options.sleeps?.push(ms) },
    });
  const bottleOf = (formula: string, tag: string) => {
    const found = emulator().index.bottles.find((b) => b.formula === formula && b.tag === tag);
    if (!found) throw new Error(`no ${formula} ${tag}`);
    return found;
  };

  beforeEach(() => {
    emulator().faults.clear();
  });

  describe("manifest", () => {
    it.each([
      ["openssl@3", "x86_64_linux"],
      ["a2ps", "arm64_monterey"],
      ["ca-certificates", "all"],
      ["abi-compliance-checker", "all"],
    ])("reads the size and digest of every tag of %s (checked on %s)", async (formula, tag) => {
      const bottle = bottleOf(formula, tag);
      const all = emulator().index.bottles.filter((b) => b.formula === formula);

      const manifest = await client().manifest(bottle.image, bottle.versionRebuild);

      expect(manifest.sizes.get(tag)).toBe(bottle.size);
      expect(manifest.digests.get(tag)).toBe(bottle.sha256);
      expect([...manifest.sizes.keys()].sort()).toEqual(all.map((b) => b.tag).sort());
      expect(manifest.mediaType).toBe("application/vnd.oci.image.index.v1+json");
      expect(manifest.rejected).toEqual([]);
    });

    it("sends the anonymous bearer token (a wrong token is refused with 401)", async () => {
      const bottle = bottleOf("openssl@3", "x86_64_linux");

      await expect(client().manifest(bottle.image, bottle.versionRebuild)).resolves.toBeDefined();
      await expect(
        client({ token: "wrong" }).manifest(bottle.image, bottle.versionRebuild),
      ).rejects.toMatchObject({
        status: 401,
      });
    });

    it("honours Retry-After on 429 before retrying", async () => {
      const bottle = bottleOf("openssl@3", "x86_64_linux");
      emulator().faults.inject({
        match: "/manifests/",
        fault: { kind: "status", status: 429, retryAfter: 3 },
      });
      const sleeps: number[] = [];

      const manifest = await client({ sleeps }).manifest(bottle.image, bottle.versionRebuild);

      expect(manifest.sizes.get("x86_64_linux")).toBe(bottle.size);
      expect(sleeps).toEqual([3000]);
    });

    it("fails with the status and URL on 404", async () => {
      const error = (await client()
        .manifest("no-such-formula", "1.0")
        .catch((caught: unknown) => caught)) as UpstreamError;

      expect(error).toBeInstanceOf(UpstreamError);
      expect(error.status).toBe(404);
      expect(error.url).toBe(`${emulator().registry}/no-such-formula/manifests/1.0`);
    });
  });

  describe("blob", () => {
    it("follows the redirect to the blob host without forwarding Authorization, and streams the bytes", async () => {
      const bottle = bottleOf("openssl@3", "x86_64_linux");
      const before = emulator().stats.blobHostRequests;

      const blob = await client().blob(bottle.image, bottle.sha256);
      const { sha256, bytes } = await sha256Of(blob.body);

      expect(blob.url.startsWith(emulator().blobHost)).toBe(true);
      expect(blob.size).toBe(bottle.size);
      expect(bytes).toBe(bottle.size);
      expect(sha256).toBe(bottle.sha256);
      expect(emulator().stats.blobHostRequests - before).toBe(1);
    });

    it("(control) the blob host really refuses a forwarded Authorization header", async () => {
      const bottle = bottleOf("openssl@3", "x86_64_linux");

      const response = await fetch(`${emulator().blobHost}/blobs/sha256:${bottle.sha256}`, {
        headers: { authorization: "Bearer QQ==" },
      });

      expect(response.status).toBe(400);
    });

    it("errors with a retryable UpstreamError when the body is cut short", async () => {
      const bottle = bottleOf("openssl@3", "x86_64_linux");
      emulator().faults.inject({
        host: "blob",
        match: bottle.sha256,
        fault: { kind: "truncate", afterBytes: 500 },
      });

      const blob = await client().blob(bottle.image, bottle.sha256);
      const error = await sha256Of(blob.body).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).retryable).toBe(true);
      expect((error as Error).message).toMatch(/interrupted|truncated/);
    });

    it("resumes from an offset with a Range request", async () => {
      const bottle = bottleOf("openssl@3", "x86_64_linux");
      const whole = await client().blob(bottle.image, bottle.sha256);
      const chunks: Buffer[] = [];
      for await (const chunk of whole.body) chunks.push(chunk as Buffer);
      const expected = Buffer.concat(chunks).subarray(100);

      const tail = await client().blob(bottle.image, bottle.sha256, { start: 100 });
      const got: Buffer[] = [];
      for await (const chunk of tail.body) got.push(chunk as Buffer);

      expect(tail.offset).toBe(100);
      expect(Buffer.concat(got).equals(expected)).toBe(true);
    });

    it("reports 503 with its status and Retry-After (the caller retries the transfer)", async () => {
      const bottle = bottleOf("openssl@3", "x86_64_linux");
      emulator().faults.inject({
        host: "registry",
        match: "/blobs/",
        fault: { kind: "status", status: 503, retryAfter: 2 },
      });

      await expect(client().blob(bottle.image, bottle.sha256)).rejects.toMatchObject({
        status: 503,
        retryAfterMs: 2000,
        retryable: true,
      });
    });

    it("refuses a digest that is not 64 hex characters", async () => {
      await expect(client().blob("wget", "../../etc/passwd")).rejects.toThrow(/invalid sha256/);
    });
  });

  describe("redirect policy", () => {
    const seen: Array<{ server: string; path: string; headers: IncomingHttpHeaders }> = [];
    let registry: Server;
    let other: Server;
    let registryUrl = "";
    let otherUrl = "";
    const digest = "b".repeat(64);

    beforeAll(async () => {
      other = createServer((req, res) => {
        seen.push({ server: "other", path: req.url ?? "", headers: req.headers });
        res.end("bytes");
      });
      registry = createServer((req, res) => {
        seen.push({ server: "registry", path: req.url ?? "", headers: req.headers });
        if (req.url?.includes("/loop/")) {
          res.writeHead(302, { location: req.url });
        } else if (req.url?.includes("/file/")) {
          res.writeHead(302, { location: "file:///etc/passwd" });
        } else if (req.url?.includes("/silent/")) {
          return; // never answers
        } else if (req.url?.includes("/stall/")) {
          // Headers and 10 of 100 bytes, then nothing: the connection stays open.
          res.writeHead(200, { "content-length": "100" });
          res.write(Buffer.alloc(10));
          return;
        } else if (req.url?.endsWith(`sha256:${digest}`)) {
          res.writeHead(302, { location: "/same-origin-hop" });
        } else {
          res.writeHead(307, { location: `${otherUrl}/final` });
        }
        res.end();
      });
      const listen = (server: Server) =>
        new Promise<string>((resolve) =>
          server.listen(0, "127.0.0.1", () =>
            resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
          ),
        );
      registryUrl = await listen(registry);
      otherUrl = await listen(other);
    });

    afterAll(async () => {
      registry.closeAllConnections();
      other.closeAllConnections();
      await Promise.all([new Promise((r) => registry.close(r)), new Promise((r) => other.close(r))]);
    });

    it("keeps Authorization on same-origin hops and drops it for another origin", async () => {
      seen.length = 0;
      const blob = await new RegistryClient({ registryBase: `${registryUrl}/v2/homebrew/core` }).blob(
        "wget",
        digest,
      );
      await sha256Of(blob.body);

      expect(seen.map((request) => [request.server, request.headers.authorization])).toEqual([
        ["registry", "Bearer QQ=="],
        ["registry", "Bearer QQ=="],
        ["other", undefined],
      ]);
    });

    it("stops after 5 redirects", async () => {
      const client = new RegistryClient({ registryBase: `${registryUrl}/loop` });

      await expect(client.blob("wget", digest)).rejects.toThrow(/more than 5 redirects/);
    });

    it("refuses to follow a redirect to a URL that is not http(s)", async () => {
      const client = new RegistryClient({ registryBase: `${registryUrl}/file` });

      await expect(client.blob("wget", digest)).rejects.toThrow(/not an http\(s\) URL/);
    });

    it("retries a manifest request that times out, and fails retryably when every attempt does", async () => {
      seen.length = 0;
      const client = new RegistryClient({
        registryBase: `${registryUrl}/silent`,
        timeoutMs: 100,
        retry: { retries: 1, random: () => 0, sleep: async () => {} },
      });

      const error = await client.manifest("wget", "1.0").catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).retryable).toBe(true);
      expect((error as Error).message).toMatch(/timed out/);
      expect(seen.filter((request) => request.path.includes("/silent/"))).toHaveLength(2);
    });

    it("fails a stalled body after the idle timeout, retryably, naming the bytes received", async () => {
      const client = new RegistryClient({ registryBase: `${registryUrl}/stall`, idleTimeoutMs: 100 });

      const blob = await client.blob("wget", digest);
      const error = await sha256Of(blob.body).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).retryable).toBe(true);
      expect((error as Error).message).toMatch(/interrupted after 10 bytes/);
    });
  });

  describe("kept-alive connections under backpressure", () => {
    it("streams 60 blobs, 4 at a time, each read slowly, over connections reused from the pool", {
      timeout: 30_000,
    }, async () => {
      // Slow readers fill each body's buffer, so sockets are paused when their body ends and go back to
      // the pool paused: a request that takes one must start it reading again (a hang, before the fix).
      const sizes = Array.from({ length: 60 }, (_, i) => 64 * 1024 + ((i * 7_919_113) % (3 * 1024 * 1024)));
      const upstream = await startTestEmulator({
        fixtures: false,
        synthetic: { formulae: 60, tags: ["arm64_sequoia"], sizes: ({ index }) => sizes[index] ?? 4096 },
      });
      try {
        const registry = new RegistryClient({ registryBase: upstream.registry, idleTimeoutMs: 10_000 });
        const bottles = [...upstream.index.bottles];
        const mismatches: string[] = [];
        let next = 0;
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            for (let bottle = bottles[next++]; bottle !== undefined; bottle = bottles[next++]) {
              const blob = await registry.blob(bottle.image, bottle.sha256);
              const hash = createHash("sha256");
              for await (const chunk of blob.body) {
                hash.update(chunk as Buffer);
                await new Promise((resolve) => setImmediate(resolve));
              }
              if (hash.digest("hex") !== bottle.sha256) mismatches.push(bottle.formula);
            }
          }),
        );

        expect(mismatches).toEqual([]);
        // Every blob came through the blob host exactly once (no retries hid a stall).
        expect(upstream.stats.blobHostRequests).toBe(60);
      } finally {
        await upstream.close();
      }
    });
  });

  describe("parseManifest", () => {
    const manifest = (annotations: Record<string, unknown>[]) =>
      Buffer.from(
        JSON.stringify({ schemaVersion: 2, manifests: annotations.map((a) => ({ annotations: a })) }),
      );

    it("rejects absurd sizes and non-hex digests but keeps the valid entries", () => {
      const good = "c".repeat(64);
      const parsed = parseManifest(
        manifest([
          {
            "org.opencontainers.image.ref.name": "1.0.arm64_sequoia",
            "sh.brew.bottle.digest": good,
            "sh.brew.bottle.size": "42",
          },
          {
            "org.opencontainers.image.ref.name": "1.0.sonoma",
            "sh.brew.bottle.digest": good,
            "sh.brew.bottle.size": "9".repeat(30),
          },
          {
            "org.opencontainers.image.ref.name": "1.0.x86_64_linux",
            "sh.brew.bottle.digest": "XYZ",
            "sh.brew.bottle.size": "1",
          },
          {
            "org.opencontainers.image.ref.name": "1.0.arm64_linux",
            "sh.brew.bottle.digest": good,
            "sh.brew.bottle.size": "-1",
          },
        ]),
        "http://x/",
        null,
      );

      expect([...parsed.sizes]).toEqual([["arm64_sequoia", 42]]);
      expect(parsed.rejected.map((r) => r.tag)).toEqual(["sonoma", "x86_64_linux", "arm64_linux"]);
    });

    it("refuses a document that is not an OCI index", () => {
      expect(() => parseManifest(Buffer.from('{"layers":[]}'), "http://x/", null)).toThrow(
        /no "manifests" list/,
      );
    });
  });

  describe("tagFromRefName", () => {
    it.each([
      ["3.0.5.arm64_sequoia", "arm64_sequoia"],
      ["4.14.arm64_monterey.4", "arm64_monterey"],
      ["2022-07-19_1.all", "all"],
      ["1.4rc5_2.x86_64_linux", "x86_64_linux"],
      ["2022.05.05.sonoma.12", "sonoma"],
      ["1.0", undefined],
      ["nodots", undefined],
    ])("reads %s as %s", (refName, tag) => {
      expect(tagFromRefName(refName)).toBe(tag);
    });
  });
});
