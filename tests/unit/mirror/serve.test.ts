import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { keyOfPath, type MirrorServer, parseRange, startServe } from "../../../src/mirror/serve.ts";
import { type Kept, SmallBodies } from "../../../src/mirror/serve-files.ts";
import { InvalidKeyError } from "../../../src/storage/errors.ts";
import { FsStore } from "../../../src/storage/fs.ts";
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
      [
        `/v2/homebrew/core/openssl/3/blobs/sha256:${"ab".repeat(32)}`,
        `v2/homebrew/core/openssl/3/blobs/sha256:${"ab".repeat(32)}`,
      ],
      ["/v2/homebrew/core/libstdcxx/manifests/1.0-1", "v2/homebrew/core/libstdcxx/manifests/1.0-1"],
    ])("maps %s to the literal key %s", (path, key) => {
      expect(keyOfPath(path)).toBe(key);
    });

    it.each([
      "/bottles/../_sync/state.json",
      "/git/../_sync/git/brew.json",
      "/v2/homebrew/../../_sync/state.json",
      "/v2/homebrew/core/x/blobs/sha256:%2F..%2F_sync",
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

  describe("SmallBodies", () => {
    const body = (): Kept => ({
      identity: "i",
      body: Buffer.alloc(10),
      modified: new Date(0),
      etag: '"e"',
      plainHeaders: [],
      used: false,
    });

    it("drops the oldest body not asked for since the last pass, giving a used one a second chance", () => {
      const small = new SmallBodies(30);
      for (const key of ["a", "b", "c"]) small.set(key, body());
      small.get("a");

      small.set("d", body());

      expect(small.keys()).toEqual(["c", "d", "a"]); // b went; a moved back, its mark spent
      small.set("e", body());
      expect(small.keys()).toEqual(["d", "a", "e"]);
    });

    it("keeps nothing larger than its limit, and forgets a body on delete", () => {
      const small = new SmallBodies(5);
      small.set("big", body());
      small.set("x", { ...body(), body: Buffer.alloc(5) });
      small.delete("x");

      expect(small.keys()).toEqual([]);
      expect(small.get("x")).toBeUndefined();
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

  describe("startServe on a folder (FsStore: one containment check, reads from the open file)", () => {
    let server: MirrorServer | undefined;
    let dir = "";
    afterEach(async () => {
      await server?.close();
      server = undefined;
      await rm(dir, { recursive: true, force: true });
    });
    const BOTTLE = "openssl@3-3.4.0.arm64_sequoia.bottle.tar.gz";
    /** 3 MiB + 7 (streamed, above the one-read size) and 10 bytes (one read). */
    const large = Buffer.alloc(3 * 1024 * 1024 + 7, 0);
    for (let i = 0; i < large.length; i += 4096) large[i] = (i / 4096) % 251;
    const errors: Array<{ status: number; error: unknown }> = [];

    async function setup(now?: Date, fastPath = true) {
      dir = await mkdtemp(join(tmpdir(), "hbsync-serve-"));
      const root = join(dir, "mirror");
      await mkdir(join(root, "bottles"), { recursive: true });
      await mkdir(join(root, "api"), { recursive: true });
      await writeFile(join(root, "bottles", BOTTLE), large);
      await writeFile(join(root, "api/formula.jws.json"), "0123456789");
      // Outside the mirror: a secret, and a folder; symlinks to both are planted inside.
      await writeFile(join(dir, "secret.txt"), "do not serve");
      await mkdir(join(dir, "elsewhere"));
      await writeFile(join(dir, "elsewhere/x.tar.gz"), "outside");
      await symlink(join(dir, "secret.txt"), join(root, "bottles/evil.bottle.tar.gz"));
      await symlink(join(dir, "elsewhere"), join(root, "bottles/linked"));
      errors.length = 0;
      server = await startServe({
        store: new FsStore(root),
        onError: (line) => errors.push(line),
        fastPath,
        ...(now ? { now: () => now } : {}),
      });
      return server;
    }

    /** Writes `requests` at once on one connection and returns what came back once the server closed it. */
    async function raw(url: string, requests: string): Promise<string> {
      const { hostname, port } = new URL(url);
      const socket = connect(Number(port), hostname);
      const chunks: Buffer[] = [];
      socket.on("data", (chunk) => chunks.push(chunk));
      socket.write(requests);
      await new Promise((resolve) => socket.once("close", resolve));
      return Buffer.concat(chunks).toString("latin1");
    }
    const sha = (bytes: Buffer | ArrayBuffer): string =>
      createHash("sha256")
        .update(Buffer.from(bytes as ArrayBuffer))
        .digest("hex");

    it("serves a large file byte for byte, a range of it, and a small file, with an ETag", async () => {
      const { bottleDomain, apiDomain } = await setup();
      const whole = await fetch(`${bottleDomain}/openssl%403-3.4.0.arm64_sequoia.bottle.tar.gz`);
      const part = await fetch(`${bottleDomain}/openssl%403-3.4.0.arm64_sequoia.bottle.tar.gz`, {
        headers: { range: "bytes=1048570-2097160" },
      });
      const small = await fetch(`${apiDomain}/formula.jws.json`, { headers: { range: "bytes=3-" } });

      expect(whole.status).toBe(200);
      expect(whole.headers.get("content-length")).toBe(String(large.length));
      expect(whole.headers.get("etag")).toMatch(/^"[0-9a-f.]+-[0-9a-f.]+"$/);
      expect(sha(await whole.arrayBuffer())).toBe(sha(large));
      expect(part.status).toBe(206);
      expect(sha(await part.arrayBuffer())).toBe(sha(large.subarray(1048570, 2097161)));
      expect([small.status, await small.text()]).toEqual([206, "3456789"]);
    });

    it("answers 404 without detail for a key that resolves outside the root, and logs why (issue 18 #8)", async () => {
      const { url, bottleDomain } = await setup();

      const file = await fetch(`${bottleDomain}/evil.bottle.tar.gz`);
      const folder = await fetch(`${bottleDomain}/linked/x.tar.gz`);

      for (const response of [file, folder]) {
        expect(response.status).toBe(404);
        const text = await response.text();
        expect(text).toBe("not found\n");
        expect(text).not.toContain(dir);
      }
      expect(errors.map((line) => [line.status, line.error instanceof InvalidKeyError])).toEqual([
        [404, true],
        [404, true],
      ]);
      expect(String((errors[0]?.error as Error).message)).toContain("resolves outside the store root");
      expect((await fetch(`${url}/bottles/${encodeURIComponent(BOTTLE)}`, { method: "HEAD" })).status).toBe(
        200,
      );
    });

    it("sends the whole body when If-Range no longer matches, the range when it does (RFC 9110 §13.1.5)", async () => {
      const { apiDomain } = await setup();
      const url = `${apiDomain}/formula.jws.json`;
      const first = await fetch(url);
      const etag = first.headers.get("etag") ?? "";
      const lastModified = first.headers.get("last-modified") ?? "";
      const ranged = (ifRange: string) =>
        fetch(url, { headers: { range: "bytes=0-3", "if-range": ifRange } });

      const sameTag = await ranged(etag);
      const otherTag = await ranged('"0-0"');
      const weakTag = await ranged(`W/${etag}`);
      const sameDate = await ranged(lastModified);
      const otherDate = await ranged(new Date(Date.parse(lastModified) - 60_000).toUTCString());

      expect([sameTag.status, await sameTag.text()]).toEqual([206, "0123"]);
      expect([sameDate.status, await sameDate.text()]).toEqual([206, "0123"]);
      for (const whole of [otherTag, weakTag, otherDate]) {
        expect([whole.status, await whole.text()]).toEqual([200, "0123456789"]);
      }
    });

    it("ignores an If-Modified-Since in the future, and lets If-None-Match decide when sent (RFC 9110 §13.1.3, §13.2.2)", async () => {
      // The server's clock a few seconds past the files setup writes: their Last-Modified (whole
      // seconds) must not be in its future (taken before the writes, it was once a second behind).
      const now = new Date(Date.now() + 5_000);
      const { apiDomain } = await setup(now);
      const url = `${apiDomain}/formula.jws.json`;
      const first = await fetch(url);
      const etag = first.headers.get("etag") ?? "";
      const get = (headers: Record<string, string>) => fetch(url, { headers });

      const future = await get({ "if-modified-since": new Date(now.getTime() + 86_400_000).toUTCString() });
      const current = await get({ "if-modified-since": first.headers.get("last-modified") ?? "" });
      const sameTag = await get({ "if-none-match": `"x", ${etag}` });
      const otherTag = await get({
        "if-none-match": '"other"',
        "if-modified-since": first.headers.get("last-modified") ?? "",
      });

      expect([future.status, await future.text()]).toEqual([200, "0123456789"]);
      expect(current.status).toBe(304);
      expect(sameTag.status).toBe(304);
      expect(sameTag.headers.get("etag")).toBe(etag);
      expect(otherTag.status).toBe(200);
    });

    it("answers from memory only while the path still reaches the same, unchanged file", async () => {
      const { url } = await setup();
      const root = join(dir, "mirror");
      const api = `${url}/api/formula.jws.json`;
      expect(await (await fetch(api)).text()).toBe("0123456789"); // read, and kept

      // A sync replaces the file (a new inode, by rename) with bytes of the same length.
      await writeFile(join(root, "api/formula.jws.json.new"), "abcdefghij");
      await rename(join(root, "api/formula.jws.json.new"), join(root, "api/formula.jws.json"));
      expect(await (await fetch(api)).text()).toBe("abcdefghij");

      // Changed in place: same inode and length, another mtime.
      await writeFile(join(root, "api/formula.jws.json"), "ABCDEFGHIJ");
      await utimes(join(root, "api/formula.jws.json"), new Date(), new Date(Date.now() + 5_000));
      expect(await (await fetch(api)).text()).toBe("ABCDEFGHIJ");

      // A symlink to a file outside the root swapped in for a kept one: refused, not served from memory.
      await rm(join(root, "api/formula.jws.json"));
      await symlink(join(dir, "secret.txt"), join(root, "api/formula.jws.json"));
      const swapped = await fetch(api);
      expect([swapped.status, await swapped.text()]).toEqual([404, "not found\n"]);
      expect(errors.at(-1)?.error).toBeInstanceOf(InvalidKeyError);
    });

    it("answers a pipelined mix byte for byte as node:http alone does (the fast path changes no answer)", async () => {
      const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: m\r\n${extra}\r\n`;
      const requests = [
        get("/api/formula.jws.json"), // read into memory
        get("/api/formula.jws.json"), // from memory
        `HEAD /api/formula.jws.json HTTP/1.1\r\nHost: m\r\n\r\n`,
        get("/api/formula.jws.json", "Range: bytes=2-4\r\n"),
        get("/api/formula.jws.json"),
        get("/api/missing.json"),
        get("/bottles/evil.bottle.tar.gz"),
        get("/bottles/openssl%403-3.4.0.arm64_sequoia.bottle.tar.gz"),
        get("/api/formula.jws.json", "Connection: close\r\n"),
      ].join("");
      const answers: string[] = [];
      for (const fastPath of [true, false]) {
        const { url } = await setup(undefined, fastPath);
        const fixed = new Date("2026-01-02T03:04:05Z"); // the same Last-Modified and ETag in both runs
        for (const file of ["api/formula.jws.json", `bottles/${BOTTLE}`])
          await utimes(join(dir, "mirror", file), fixed, fixed);
        answers.push((await raw(url, requests)).replace(/\r\nDate: [^\r]+/g, ""));
        await server?.close();
        server = undefined;
        await rm(dir, { recursive: true, force: true });
      }

      expect(answers[0]?.length).toBeGreaterThan(large.length);
      expect(answers[0]?.match(/HTTP\/1\.1 \d{3}/g)).toEqual([
        ...["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 206", "HTTP/1.1 200"],
        ...["HTTP/1.1 404", "HTTP/1.1 404", "HTTP/1.1 200", "HTTP/1.1 200"],
      ]);
      expect(answers[0] === answers[1]).toBe(true); // not toEqual: a 3 MiB diff helps nobody
    });

    it("closes at once with an idle keep-alive connection still open", async () => {
      const { url } = await setup();
      const { hostname, port } = new URL(url);
      const socket = connect(Number(port), hostname);
      socket.write("GET /api/formula.jws.json HTTP/1.1\r\nHost: m\r\n\r\n");
      await new Promise((resolve) => socket.once("data", resolve));
      const closed = new Promise((resolve) => socket.once("close", resolve));
      const started = Date.now();

      await server?.close();
      server = undefined;
      await closed;

      expect(Date.now() - started).toBeLessThan(4_000); // the keep-alive timeout is 5 s
    });

    it("closes every file it opened, also for HEAD, 304, 416 and a client that goes away mid-body", async () => {
      const { bottleDomain, apiDomain } = await setup();
      const openFiles = () => readdirSync("/proc/self/fd").length;
      const url = `${bottleDomain}/openssl%403-3.4.0.arm64_sequoia.bottle.tar.gz`;
      await (await fetch(url)).arrayBuffer();
      const before = openFiles();

      for (let i = 0; i < 5; i++) {
        await fetch(url, { method: "HEAD" });
        await fetch(url, { headers: { "if-modified-since": new Date().toUTCString() } });
        await fetch(url, { headers: { range: "bytes=99999999-" } });
        await (await fetch(`${apiDomain}/formula.jws.json`)).text();
        const controller = new AbortController();
        const response = await fetch(url, { signal: controller.signal });
        const reader = response.body?.getReader();
        await reader?.read();
        controller.abort();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));

      expect(openFiles()).toBeLessThanOrEqual(before + 2); // sockets of the client's own pool may linger
      expect(errors).toEqual([]); // a client going away is not the server's error
    });
  });
});
