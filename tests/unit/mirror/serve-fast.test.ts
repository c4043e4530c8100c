import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { installFastPath, parseSimpleRequest } from "../../../src/mirror/serve-fast.ts";
import type { Kept } from "../../../src/mirror/serve-files.ts";

/** A kept body as serve-files makes one. */
function kept(body: string | Buffer): Kept {
  const bytes = Buffer.from(body);
  return {
    identity: "test",
    body: bytes,
    modified: new Date(0),
    etag: '"e"',
    plainHeaders: ["content-type", "application/octet-stream", "content-length", String(bytes.byteLength)],
    used: false,
  };
}

/** Splits raw HTTP/1.1 responses (each with Content-Length) into status, headers and body. */
function responses(raw: Buffer, heads: readonly boolean[] = []): Array<{ status: number; body: string }> {
  const out: Array<{ status: number; body: string }> = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const head = raw.toString("latin1", at, end);
    const status = Number(head.slice(9, 12));
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const bodyLength = heads[out.length] ? 0 : length;
    if (end + 4 + bodyLength > raw.length) break;
    out.push({ status, body: raw.toString("latin1", end + 4, end + 4 + bodyLength) });
    at = end + 4 + bodyLength;
  }
  return out;
}

describe("mirror/serve-fast", () => {
  describe("parseSimpleRequest", () => {
    const host = "Host: mirror\r\n";
    it.each([
      ["GET /bottles/a.tar.gz HTTP/1.1\r\nHost: mirror", { method: "GET", target: "/bottles/a.tar.gz" }],
      [
        "HEAD /api/x.json?y=1 HTTP/1.1\r\nhost: m\r\nUser-Agent: curl/8\r\nAccept: */*\r\nAccept-Encoding: gzip",
        { method: "HEAD", target: "/api/x.json?y=1" },
      ],
      ["GET /a HTTP/1.1\r\nHOST:m\r\nAccept:\t*/*", { method: "GET", target: "/a" }],
      ["GET /a HTTP/1.1\r\nHost: m\r\nConnection: Keep-Alive", { method: "GET", target: "/a" }],
    ])("takes %j", (head, expected) => {
      expect(parseSimpleRequest(head)).toEqual(expected);
    });

    it.each([
      ["another method", `POST /a HTTP/1.1\r\n${host}`],
      ["HTTP/1.0", "GET /a HTTP/1.0\r\nHost: m"],
      ["no Host", "GET /a HTTP/1.1\r\nAccept: */*"],
      ["two Hosts", "GET /a HTTP/1.1\r\nHost: m\r\nHost: n"],
      ["a Range", "GET /a HTTP/1.1\r\nHost: m\r\nRange: bytes=0-1"],
      ["a conditional", "GET /a HTTP/1.1\r\nHost: m\r\nIf-None-Match: *"],
      ["a body (Content-Length)", "GET /a HTTP/1.1\r\nHost: m\r\nContent-Length: 5"],
      ["a body (Transfer-Encoding)", "GET /a HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked"],
      ["Connection: close", "GET /a HTTP/1.1\r\nHost: m\r\nConnection: close"],
      ["Connection: keep-alive, Upgrade", "GET /a HTTP/1.1\r\nHost: m\r\nConnection: keep-alive, Upgrade"],
      ["Upgrade", "GET /a HTTP/1.1\r\nHost: m\r\nUpgrade: websocket"],
      ["Expect", "GET /a HTTP/1.1\r\nHost: m\r\nExpect: 100-continue"],
      ["a folded header line", "GET /a HTTP/1.1\r\nHost: m\r\nAccept: a\r\n b"],
      ["a bare LF", "GET /a HTTP/1.1\nHost: m"],
      ["a bare LF between headers", "GET /a HTTP/1.1\r\nHost: m\nRange: bytes=0-1"],
      ["a space before the colon", "GET /a HTTP/1.1\r\nHost : m"],
      ["an empty name", "GET /a HTTP/1.1\r\n: m\r\nHost: m"],
      ["a control character in a value", "GET /a HTTP/1.1\r\nHost: m\u0000x"],
      ["an absolute-form target", "GET http://m/a HTTP/1.1\r\nHost: m"],
      ["a target with a space", "GET /a b HTTP/1.1\r\nHost: m"],
      ["a target with a non-ASCII byte", "GET /a\u00e9 HTTP/1.1\r\nHost: m"],
      ["an empty target", "GET  HTTP/1.1\r\nHost: m"],
      ["lower-case method", "get /a HTTP/1.1\r\nHost: m"],
    ])("leaves a request with %s to node:http", (_, head) => {
      expect(parseSimpleRequest(head)).toBeNull();
    });
  });

  describe("installFastPath (a real socket, node:http behind it)", () => {
    let server: Server | undefined;
    const clients: Socket[] = [];
    afterEach(async () => {
      for (const client of clients) client.destroy();
      clients.length = 0;
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      server = undefined;
    });

    /** node:http answers `from-http <path>`; the fast path answers what `bodies` holds. */
    async function start(
      bodies: Map<string, Kept>,
      extra: { idleMs?: number; loadable?: Map<string, Kept> } = {},
    ) {
      const seenByHttp: string[] = [];
      const askedFast: string[] = [];
      server = createServer((req, res) => {
        seenByHttp.push(`${req.method} ${req.url} ${req.headers.range ?? ""}`.trim());
        const text = `from-http ${req.url}`;
        res.writeHead(200, { "content-length": String(text.length) });
        res.end(req.method === "HEAD" ? undefined : text);
      });
      const open = installFastPath(server, {
        kept: (target) => {
          askedFast.push(target);
          return bodies.get(target);
        },
        load: async (target) => {
          const body = extra.loadable?.get(target);
          if (body === undefined) return false;
          await new Promise((resolve) => setTimeout(resolve, 20));
          bodies.set(target, body);
          return true;
        },
        ...(extra.idleMs === undefined ? {} : { idleMs: extra.idleMs }),
      });
      await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as AddressInfo).port;
      return { port, seenByHttp, askedFast, open };
    }

    function client(port: number): { socket: Socket; received: () => Buffer; closed: Promise<void> } {
      const socket = connect(port, "127.0.0.1");
      clients.push(socket);
      const chunks: Buffer[] = [];
      socket.on("data", (chunk) => chunks.push(chunk));
      socket.on("error", () => undefined);
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      return { socket, received: () => Buffer.concat(chunks), closed };
    }

    async function until(check: () => boolean, what: string): Promise<void> {
      for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      if (!check()) throw new Error(`timed out waiting for ${what}`);
    }

    const get = (path: string, extra = ""): string => `GET ${path} HTTP/1.1\r\nHost: m\r\n${extra}\r\n`;

    it("answers pipelined simple requests itself, and hands the connection to node:http at the first other one, in order", async () => {
      const { port, seenByHttp } = await start(new Map([["/k", kept("kept-body")]]));
      const { socket, received } = client(port);

      socket.write(get("/k") + get("/k", "Range: bytes=0-1\r\n") + get("/k") + get("/missing"));
      await until(() => responses(received()).length === 4, "four responses");

      expect(responses(received()).map((r) => r.body)).toEqual([
        "kept-body",
        "from-http /k",
        "from-http /k",
        "from-http /missing",
      ]);
      // node:http saw the Range request and everything after it, nothing before.
      expect(seenByHttp).toEqual(["GET /k bytes=0-1", "GET /k", "GET /missing"]);
    });

    it.each([
      ["a head over node's limit", `GET /k HTTP/1.1\r\nHost: m\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, 431],
      ["bytes that are no request", "\u0000\u0001\u0002 nonsense\r\n\r\n", 400],
      [
        "Content-Length with Transfer-Encoding (a smuggling attempt)",
        "GET /k HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
      ],
    ])("leaves %s to node:http, which refuses it", async (_, request, status) => {
      const { port, seenByHttp } = await start(new Map([["/k", kept("kept-body")]]));
      const { socket, received, closed } = client(port);

      socket.write(request);
      await closed;

      expect(received().toString("latin1")).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(seenByHttp).toEqual([]);
    });

    it("answers HEAD with the head only, so the next pipelined response follows at once", async () => {
      const { port, seenByHttp } = await start(new Map([["/k", kept("0123456789")]]));
      const { socket, received } = client(port);

      socket.write(`HEAD /k HTTP/1.1\r\nHost: m\r\n\r\n${get("/k")}`);
      await until(() => responses(received(), [true]).length === 2, "two responses");

      const [head, body] = responses(received(), [true]);
      expect([head?.status, head?.body, body?.body]).toEqual([200, "", "0123456789"]);
      expect(received().toString("latin1")).toMatch(
        /content-length: 10\r\nDate: .+ GMT\r\nConnection: keep-alive/,
      );
      expect(seenByHttp).toEqual([]);
    });

    it("sends the current Date with a kept answer, a new one each second, the body intact", async () => {
      const { port } = await start(new Map([["/k", kept("kept-body")]]));
      const { socket, received } = client(port);
      const dates = (): number[] =>
        [
          ...received()
            .toString("latin1")
            .matchAll(/\r\nDate: ([^\r]+)\r\n/g),
        ].map((m) => Date.parse(m[1] ?? ""));

      socket.write(get("/k"));
      await until(() => responses(received()).length === 1, "the first response");
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      socket.write(get("/k"));
      await until(() => responses(received()).length === 2, "the second response");

      const [first = 0, second = 0] = dates();
      expect(Math.abs(first - Date.now())).toBeLessThan(5_000);
      expect(second - first).toBeGreaterThanOrEqual(1_000);
      expect(responses(received()).map((r) => r.body)).toEqual(["kept-body", "kept-body"]);
    });

    it("hands a request head split across reads to node:http, which reads the rest from the socket", async () => {
      const { port, seenByHttp } = await start(new Map([["/k", kept("kept-body")]]));
      const { socket, received } = client(port);

      socket.write("GET /k HTTP/1.1\r\nHo");
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.write(`st: m\r\n\r\n${get("/k")}`);
      await until(() => responses(received()).length === 2, "two responses");

      expect(responses(received()).map((r) => r.body)).toEqual(["from-http /k", "from-http /k"]);
      expect(seenByHttp).toEqual(["GET /k", "GET /k"]);
    });

    it("reads a small body it does not hold yet, holding the pipelined requests behind it, and stays on the connection", async () => {
      const bodies = new Map<string, Kept>();
      const { port, seenByHttp } = await start(bodies, { loadable: new Map([["/cold", kept("cold-body")]]) });
      const { socket, received } = client(port);

      socket.write(get("/cold") + get("/cold"));
      await new Promise((resolve) => setTimeout(resolve, 5));
      socket.write(get("/cold"));
      await until(() => responses(received()).length === 3, "three responses");

      expect(responses(received()).map((r) => r.body)).toEqual(["cold-body", "cold-body", "cold-body"]);
      expect(seenByHttp).toEqual([]);
    });

    it("stops reading requests while the client does not read its responses, and sends them all once it does", async () => {
      const big = kept(Buffer.alloc(256 * 1024, 7));
      const { port, askedFast } = await start(new Map([["/big", big]]));
      const socket = connect(port, "127.0.0.1");
      clients.push(socket);
      socket.on("error", () => undefined);
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.pause(); // the client reads nothing yet

      const count = 400; // 100 MiB of responses if all were queued at once
      socket.write(get("/big").repeat(count));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const processedWhileBlocked = askedFast.length;
      let bytes = 0;
      socket.on("data", (chunk: Buffer) => {
        bytes += chunk.byteLength;
      });
      socket.resume();
      await until(() => askedFast.length === count && bytes >= count * big.body.byteLength, "every response");

      expect(processedWhileBlocked).toBeLessThan(count / 4);
    });

    it("answers the requests of a client that half-closes, then closes its side", async () => {
      // A long idle time: only the server's own end can close the connection within the test's time.
      const { port, seenByHttp } = await start(new Map([["/k", kept("kept-body")]]), { idleMs: 60_000 });
      const { socket, received, closed } = client(port);

      socket.end(get("/k") + get("/k"));
      await closed;

      expect(responses(received()).map((r) => r.body)).toEqual(["kept-body", "kept-body"]);
      expect(seenByHttp).toEqual([]);
    });

    it("answers every complete request of a client that half-closes mid-request, then closes its side", async () => {
      const { port } = await start(new Map([["/k", kept("kept-body")]]));
      const { socket, received, closed } = client(port);

      socket.end(get("/k") + get("/k") + "GET /k HTTP/1.1\r\nHo"); // the last one cut off
      await closed;

      const [first, second, ...rest] = responses(received());
      expect([first?.body, second?.body]).toEqual(["kept-body", "kept-body"]);
      // The cut-off head: nothing, or node:http's 400 when it was handed over before the close was seen.
      expect(rest.map((r) => r.status)).toEqual(rest.length === 0 ? [] : [400]);
    });

    it("stops reading from a client that sends requests but reads no answers (its requests wait in its own buffers)", async () => {
      const { port, askedFast } = await start(new Map([["/k", kept(Buffer.alloc(64 * 1024, 3))]]));
      const socket = connect(port, "127.0.0.1");
      clients.push(socket);
      socket.on("error", () => undefined);
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.pause();

      socket.write(get("/k").repeat(400_000)); // 12 MiB of requests, 25 GiB of answers
      await new Promise((resolve) => setTimeout(resolve, 500));

      expect(askedFast.length).toBeLessThan(1_000);
      // The server stopped reading: most of the requests are still queued on the client's side.
      expect(socket.writableLength).toBeGreaterThan(4 * 1024 * 1024);
    });

    it("closes a connection idle longer than the keep-alive time", async () => {
      const { port } = await start(new Map([["/k", kept("x")]]), { idleMs: 100 });
      const { socket, received, closed } = client(port);
      socket.write(get("/k"));

      await closed;

      expect(responses(received()).map((r) => r.body)).toEqual(["x"]);
    });

    it("survives a client that resets mid-response, and serves the next one", async () => {
      const { port, open } = await start(new Map([["/big", kept(Buffer.alloc(4 * 1024 * 1024, 1))]]));
      const first = client(port);
      first.socket.write(get("/big"));
      await new Promise<void>((resolve) => first.socket.once("data", () => resolve()));
      first.socket.resetAndDestroy();
      await first.closed;

      const second = client(port);
      second.socket.write(get("/big"));
      await until(() => responses(second.received()).length === 1, "the second response");

      expect(responses(second.received())[0]?.body.length).toBe(4 * 1024 * 1024);
      await until(() => open.size === 1, "the reset connection to be forgotten");
    });
  });
});
