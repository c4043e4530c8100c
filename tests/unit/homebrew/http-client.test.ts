import { createHash } from "node:crypto";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Readable } from "node:stream";
import { generate } from "selfsigned";
import { afterEach, describe, expect, it } from "vitest";
import { UpstreamError } from "../../../src/homebrew/errors.ts";
import { createDispatcher, httpGet, type ResponseBody } from "../../../src/homebrew/http-client.ts";
import { RegistryClient } from "../../../src/homebrew/registry-client.ts";
import { isTransientError } from "../../../src/homebrew/retry.ts";
import {
  BODY,
  chunkedHead,
  contentLengthHead,
  FAILURE_SHAPES,
  PIECES,
  POSITIONS,
  type RawServer,
  send,
  startRawServer,
} from "../../helpers/raw-http.ts";

async function collect(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads the body slowly, a tick per chunk (a consumer behind in backpressure). */
async function collectSlowly(body: ResponseBody): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return Buffer.concat(chunks);
}

const get = (url: string, options: { idleTimeoutMs?: number; onBytes?: (n: number) => void } = {}) =>
  httpGet(dispatcher, url, {
    headers: { accept: "application/octet-stream" },
    idleTimeoutMs: options.idleTimeoutMs ?? 2_000,
    ...(options.onBytes ? { onBytes: options.onBytes } : {}),
  });

let dispatcher = createDispatcher();
let server: RawServer | undefined;
afterEach(async () => {
  await dispatcher.close();
  dispatcher = createDispatcher();
  await server?.close();
  server = undefined;
});

describe("homebrew/http-client", () => {
  describe("httpGet", () => {
    it("reads status, headers and a Content-Length body, and reuses the connection for the next request", async () => {
      server = await startRawServer(async ({ socket, index }) => {
        await send(socket, `${contentLengthHead(5, `x-index: ${index}\r\n`)}hello`);
      });

      const first = await get(`${server.url}/a`);
      const firstBody = await collect(first.body);
      await new Promise((resolve) => setTimeout(resolve, 10)); // the pool takes the connection back
      const second = await get(`${server.url}/b`);

      expect(first.statusCode).toBe(200);
      expect(first.headers["x-index"]).toBe("0");
      expect(firstBody.toString()).toBe("hello");
      expect((await collect(second.body)).toString()).toBe("hello");
      expect(server.connectionOf).toEqual([0, 0]);
    });

    it("decodes a chunked body split across writes, with extensions and trailers", async () => {
      server = await startRawServer(async ({ socket }) => {
        await send(socket, `${chunkedHead()}5;ext=1\r\nhel`);
        await send(socket, "lo\r\n6\r\n world\r\n0\r\nx-trailer: yes\r\n\r\n");
      });

      const response = await get(server.url);

      expect((await collect(response.body)).toString()).toBe("hello world");
    });

    it("reads a body delimited by the connection closing, and opens a new connection next time", async () => {
      server = await startRawServer(async ({ socket }) => {
        await send(socket, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end");
        socket.end();
      });

      const first = await get(server.url);
      expect((await collect(first.body)).toString()).toBe("until the end");
      await collect((await get(server.url)).body);

      expect(server.connections).toBe(2);
    });

    it("skips an informational 103 Early Hints before the real response", async () => {
      server = await startRawServer(async ({ socket }) => {
        await send(socket, "HTTP/1.1 103 Early Hints\r\nlink: </style.css>\r\n\r\n");
        await send(socket, `${contentLengthHead(2)}ok`);
      });

      const response = await get(server.url);

      expect(response.statusCode).toBe(200);
      expect((await collect(response.body)).toString()).toBe("ok");
    });

    it("refuses a URL that is not http(s), and a header value with a line break", async () => {
      await expect(get("file:///etc/passwd")).rejects.toThrow(/not an http\(s\) URL/);
      server = await startRawServer(async ({ socket }) => send(socket, `${contentLengthHead(0)}`));
      await expect(
        httpGet(dispatcher, server.url, { headers: { "x-evil": "a\r\nhost: b" }, idleTimeoutMs: 1000 }),
      ).rejects.toThrow(/header/i);
      expect(server.requests).toEqual([]);
    });

    it("speaks TLS, verifying the server certificate against the CA it is given", async () => {
      const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
        keySize: 2048,
        extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }],
      });
      const https = createHttpsServer({ key: pems.private, cert: pems.cert }, (_req, res) =>
        res.end("secure"),
      );
      await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
      const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}/`;
      try {
        const trusting = createDispatcher({ tls: { ca: pems.cert } });
        const response = await httpGet(trusting, url, { headers: {}, idleTimeoutMs: 5000 });
        expect((await collect(response.body)).toString()).toBe("secure");
        await trusting.close();

        await expect(get(url)).rejects.toThrow(/self.signed|certificate/i);
      } finally {
        https.closeAllConnections();
        await new Promise((resolve) => https.close(resolve));
      }
    });
  });

  describe("ResponseBody", () => {
    it("delivers every body byte, including those that arrived before reading began, and counts them", async () => {
      server = await startRawServer(async ({ socket }) => {
        await send(socket, Buffer.concat([Buffer.from(contentLengthHead(BODY.length)), PIECES[0] as Buffer]));
        await send(socket, PIECES[1] as Buffer);
        await send(socket, PIECES[2] as Buffer);
      });
      let counted = 0;

      const response = await get(server.url, { onBytes: (n) => (counted += n) });
      await new Promise((resolve) => setTimeout(resolve, 30)); // the first piece waits in the buffer
      const bytes = await collectSlowly(response.body);

      expect(bytes.equals(BODY)).toBe(true);
      expect(counted).toBe(BODY.length);
    });

    it("stops the transfer when the consumer destroys it, and never reuses that connection", async () => {
      server = await startRawServer(async ({ socket }) => {
        await send(socket, contentLengthHead(BODY.length));
        for (const piece of PIECES) await send(socket, piece);
      });
      const refusal = new Error("sha256 differs");

      const response = await get(server.url);
      response.body.destroy(refusal);
      await collect((await get(server.url)).body);

      expect(response.body.errored).toBe(refusal);
      expect(server.connectionOf).toHaveLength(2);
      expect(server.connectionOf[1]).not.toBe(server.connectionOf[0]);
    });
  });

  /**
   * Every way a transfer can break after the head, at the first, a middle and the last piece of the
   * body, read at full speed and slowly (behind in backpressure): each is a retryable UpstreamError
   * naming the bytes received — never an unhandled 'error' event.
   */
  describe("failures after the head", () => {
    const cases = FAILURE_SHAPES.flatMap(([shape, write]) =>
      POSITIONS.flatMap(([where, position]) =>
        (["at once", "slowly"] as const).map((reader) => [shape, where, reader, write, position] as const),
      ),
    );

    // Concurrent: most of these wait for the idle timeout (undici's timers tick about once a second).
    it.concurrent.each(cases)("%s, at the %s piece, read by %s", async (_s, _w, reader, write, position) => {
      const own = await startRawServer(({ socket }) => write(socket, position));
      const client = createDispatcher();
      try {
        const response = await httpGet(client, own.url, { headers: {}, idleTimeoutMs: 200 });
        const error = await (reader === "at once"
          ? collect(response.body)
          : collectSlowly(response.body)
        ).catch((caught: unknown) => caught);

        expect(error).toBeInstanceOf(UpstreamError);
        expect(isTransientError(error)).toBe(true);
        expect((error as Error).message).toMatch(/interrupted after \d+ bytes/);
      } finally {
        await client.close();
        await own.close();
      }
    });

    it("a slow drip that keeps moving (pauses under the idle timeout) arrives whole", async () => {
      server = await startRawServer(async ({ socket }) => {
        await send(socket, contentLengthHead(BODY.length));
        for (let offset = 0; offset < BODY.length; offset += 4096) {
          await send(socket, BODY.subarray(offset, offset + 4096));
        }
      });

      const response = await get(server.url, { idleTimeoutMs: 500 });

      expect((await collect(response.body)).equals(BODY)).toBe(true);
    });
  });

  describe("failures before the head", () => {
    const answers: Array<[string, (socket: Socket) => void]> = [
      ["a close without a byte", (socket) => socket.end()],
      ["a reset without a byte", (socket) => socket.resetAndDestroy()],
      ["half a status line, then a close", (socket) => socket.end("HTTP/1.1 20")],
      ["a malformed status line", (socket) => socket.end("HTTP/1.1 OK\r\n\r\n")],
      ["no answer at all (the idle timeout)", () => {}],
    ];
    it.each(answers)(
      "%s fails the request with a retryable UpstreamError naming the URL",
      async (_what, answer) => {
        server = await startRawServer(({ socket }) => answer(socket));
        const registry = new RegistryClient({ registryBase: server.url, idleTimeoutMs: 200 });

        const error = await registry.blob("wget", "a".repeat(64)).catch((caught: unknown) => caught);
        await registry.close();

        expect(error).toBeInstanceOf(UpstreamError);
        expect(isTransientError(error)).toBe(true);
        expect((error as Error).message).toContain(server.url);
      },
    );
  });

  it("(control) the body's bytes are the bytes the server wrote", async () => {
    server = await startRawServer(async ({ socket }) => {
      await send(socket, contentLengthHead(BODY.length));
      for (const piece of PIECES) await send(socket, piece);
    });

    const response = await get(server.url);
    const bytes = await collect(response.body);

    expect(createHash("sha256").update(bytes).digest("hex")).toBe(
      createHash("sha256").update(BODY).digest("hex"),
    );
  });
});
