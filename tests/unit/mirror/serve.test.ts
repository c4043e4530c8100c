import { afterEach, describe, expect, it } from "vitest";
import { keyOfPath, type MirrorServer, parseRange, startServe } from "../../../src/mirror/serve.ts";
import { memoryStore } from "./memory-store.ts";

describe("mirror/serve", () => {
  describe("keyOfPath", () => {
    it.each([
      [
        "/bottles/openssl%403-3.4.0.arm64_sequoia.bottle.tar.gz",
        "bottles/openssl@3-3.4.0.arm64_sequoia.bottle.tar.gz",
      ],
      ["/bottles/libstdc%2B%2B-1.0.all.bottle.tar.gz", "bottles/libstdc++-1.0.all.bottle.tar.gz"],
      ["/bottles/openssl/3/manifests/3.4.0", "bottles/openssl/3/manifests/3.4.0"],
      ["/api/formula.jws.json?x=1", "api/formula.jws.json"],
      ["/api/internal/packages.arm64_sequoia.jws.json", "api/internal/packages.arm64_sequoia.jws.json"],
      ["/git/brew.git/info/refs?service=git-upload-pack", "git/brew.git/info/refs"],
      ["/git/brew.git/objects/info/packs", "git/brew.git/objects/info/packs"],
    ])("maps %s to the literal key %s", (path, key) => {
      expect(keyOfPath(path)).toBe(key);
    });

    it.each([
      "/bottles/../_sync/state.json",
      "/git/../_sync/git/brew.json",
      "/bottles/%2E%2E/_sync/state.json",
      "/bottles/..%2F_sync%2Fstate.json",
      "/bottles/a%00b",
      "/bottles/%E0%A4%A",
      "/_sync/state.json",
      "/bottles/",
      "/bottles//x",
      "/etc/passwd",
    ])("refuses %s", (path) => {
      expect(keyOfPath(path)).toBeNull();
    });
  });

  describe("parseRange", () => {
    it.each([
      [undefined, 10, null],
      ["bytes=0-3", 10, { start: 0, end: 3 }],
      ["bytes=5-", 10, { start: 5, end: 9 }],
      ["bytes=-4", 10, { start: 6, end: 9 }],
      ["bytes=8-100", 10, { start: 8, end: 9 }],
      ["bytes=10-", 10, "unsatisfiable"],
      ["bytes=0-1,3-4", 10, null],
      ["items=0-1", 10, null],
      ["bytes=0-0", 10, { start: 0, end: 0 }],
      ["bytes=9-9", 10, { start: 9, end: 9 }],
      ["bytes=-500", 10, { start: 0, end: 9 }],
      ["bytes=-0", 10, "unsatisfiable"],
      // An empty object has no last byte: a suffix range gets the whole (empty) body, not `bytes 0--1/0`.
      ["bytes=-5", 0, null],
      ["bytes=0-", 0, "unsatisfiable"],
    ] as const)("%s of %i bytes → %j", (header, size, expected) => {
      expect(parseRange(header, size)).toEqual(expected);
    });
  });

  describe("startServe", () => {
    let server: MirrorServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });
    const body = "0123456789";
    const setup = async () => {
      const store = memoryStore({
        "bottles/openssl@3-3.4.0.arm64_sequoia.bottle.tar.gz": body,
        "api/formula.jws.json": "{}",
        "_sync/state.json": "{}",
      });
      server = await startServe({ store });
      return server;
    };

    it("serves a bottle at the percent-encoded URL brew computes, with Content-Length and Last-Modified", async () => {
      const { bottleDomain } = await setup();

      const response = await fetch(`${bottleDomain}/openssl%403-3.4.0.arm64_sequoia.bottle.tar.gz`);

      expect(response.status).toBe(200);
      expect(await response.text()).toBe(body);
      expect(response.headers.get("content-length")).toBe("10");
      expect(Date.parse(response.headers.get("last-modified") ?? "")).not.toBeNaN();
    });

    it("answers a Range with 206 and Content-Range, and an unsatisfiable one with 416", async () => {
      const { bottleDomain } = await setup();
      const url = `${bottleDomain}/openssl%403-3.4.0.arm64_sequoia.bottle.tar.gz`;

      const partial = await fetch(url, { headers: { range: "bytes=2-5" } });
      const beyond = await fetch(url, { headers: { range: "bytes=50-" } });

      expect(partial.status).toBe(206);
      expect(partial.headers.get("content-range")).toBe("bytes 2-5/10");
      expect(await partial.text()).toBe("2345");
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get("content-range")).toBe("bytes */10");
    });

    it("answers HEAD with headers only, and 404/400/405 where due", async () => {
      const { url, apiDomain } = await setup();

      const head = await fetch(`${apiDomain}/formula.jws.json`, { method: "HEAD" });
      const missing = await fetch(`${apiDomain}/cask.jws.json`);
      const hidden = await fetch(`${url}/_sync/state.json`);
      const traversal = await fetch(`${url}/bottles/..%2F_sync%2Fstate.json`);
      const post = await fetch(`${apiDomain}/formula.jws.json`, { method: "POST" });

      expect([head.status, head.headers.get("content-length"), await head.text()]).toEqual([200, "2", ""]);
      expect(missing.status).toBe(404);
      expect(hidden.status).toBe(404);
      expect(traversal.status).toBe(400);
      expect(post.status).toBe(405);
    });

    it("answers If-Modified-Since with 304 when the file has not changed", async () => {
      const { apiDomain } = await setup();
      const first = await fetch(`${apiDomain}/formula.jws.json`);

      const again = await fetch(`${apiDomain}/formula.jws.json`, {
        headers: { "if-modified-since": first.headers.get("last-modified") ?? "" },
      });

      expect(again.status).toBe(304);
    });
  });
});
