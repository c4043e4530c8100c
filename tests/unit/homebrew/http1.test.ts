import { createHash } from "node:crypto";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import type { Readable } from "node:stream";
import selfsigned from "selfsigned";
import { afterEach, describe, expect, it } from "vitest";
import { UpstreamError } from "../../../src/homebrew/errors.ts";
import { Http1Client } from "../../../src/homebrew/http1.ts";

/**
 * The registry's HTTP/1.1 client against real servers on loopback: node:http and node:https for
 * well-formed traffic, and a raw TCP server (the `raw` helper) to write exact bytes — chunked framing,
 * a body cut short, a response split across reads, a keep-alive socket closed by the server.
 */
const servers: Array<{ close(): void; closeAllConnections?(): void }> = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections?.();
    server.close();
  }
});

async function listen(server: Server | ReturnType<typeof createNetServer>, scheme = "http"): Promise<string> {
  servers.push(server as { close(): void });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A TCP server that answers each request (by path) with the bytes `respond` writes. */
async function raw(respond: (path: string, socket: Socket, index: number) => void): Promise<{
  url: string;
  connections: () => number;
}> {
  let connections = 0;
  let index = 0;
  const server = createNetServer((socket) => {
    connections++;
    let pending = "";
    socket.on("data", (data) => {
      pending += data.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        respond(head.split(" ")[1] ?? "", socket, index++);
      }
    });
    socket.on("error", () => {});
  });
  return { url: await listen(server), connections: () => connections };
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const options = { headers: {}, idleTimeoutMs: 5_000 };

describe("homebrew/http1", () => {
  describe("Http1Client.get", () => {
    it("reads status, headers and a Content-Length body, and reuses the connection for the next request", async () => {
      const bodies = new Map([
        ["/a", Buffer.alloc(3 * 1024 * 1024, 7)],
        ["/b", Buffer.from("second")],
      ]);
      let sockets = 0;
      const server = createHttpServer((req, res) => {
        const body = bodies.get(req.url ?? "") ?? Buffer.alloc(0);
        res.writeHead(200, { "content-length": body.length, "x-test": "yes" });
        res.end(body);
      });
      server.on("connection", () => sockets++);
      const url = await listen(server);
      const client = new Http1Client();

      const first = await client.get(`${url}/a`, options);
      expect(first.statusCode).toBe(200);
      expect(first.headers["x-test"]).toBe("yes");
      expect((await readAll(first)).equals(bodies.get("/a") as Buffer)).toBe(true);
      const second = await client.get(`${url}/b`, options);
      expect((await readAll(second)).toString()).toBe("second");

      expect(sockets).toBe(1);
      client.close();
    });

    it("reuses a connection whose previous body filled the response buffer (socket paused) as it ended", async () => {
      // Exactly the response's buffer (8 chunks of 256 KiB), all received before anyone reads: the last
      // push finds the buffer full and pauses the socket just as the body ends and the socket is kept.
      const full = Buffer.alloc(2 * 1024 * 1024, 1);
      const server = createHttpServer((req, res) => {
        const body = req.url === "/full" ? full : Buffer.from("after");
        res.writeHead(200, { "content-length": body.length });
        res.end(body);
      });
      const url = await listen(server);
      const client = new Http1Client();

      const first = await client.get(`${url}/full`, options);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The next request takes the kept-alive socket while the first body still waits to be read.
      const second = await client.get(`${url}/next`, { ...options, idleTimeoutMs: 2_000 });

      expect((await readAll(first)).length).toBe(full.length);
      expect((await readAll(second)).toString()).toBe("after");
      client.close();
    });

    it("decodes a chunked body split across reads, with extensions and trailers", async () => {
      const server = await raw((_path, socket) => {
        const parts = [
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel",
          "lo\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n",
        ];
        socket.write(parts[0] as string);
        setTimeout(() => socket.write(parts[1] as string), 20);
      });
      const client = new Http1Client();

      const response = await client.get(`${server.url}/chunked`, options);

      expect((await readAll(response)).toString()).toBe("hello world");
      client.close();
    });

    it("reads a body delimited by the connection closing, and never reuses that connection", async () => {
      const server = await raw((_path, socket) => {
        socket.end("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
      });
      const client = new Http1Client();

      expect((await readAll(await client.get(`${server.url}/1`, options))).toString()).toBe("until the end");
      expect((await readAll(await client.get(`${server.url}/2`, options))).toString()).toBe("until the end");
      expect(server.connections()).toBe(2);
      client.close();
    });

    it("skips a 100 Continue before the real response", async () => {
      const server = await raw((_path, socket) => {
        socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      });
      const client = new Http1Client();

      const response = await client.get(`${server.url}/`, options);

      expect(response.statusCode).toBe(200);
      expect((await readAll(response)).toString()).toBe("ok");
      client.close();
    });

    it("errors with a retryable UpstreamError naming the bytes when the body ends short of its Content-Length", async () => {
      const server = await raw((_path, socket) => {
        socket.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
      });
      const client = new Http1Client();

      const response = await client.get(`${server.url}/short`, options);
      const error = await readAll(response).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).retryable).toBe(true);
      expect((error as Error).message).toMatch(/interrupted after 10 bytes: truncated body \(got 10 of 100/);
      client.close();
    });

    it("retries once on a fresh connection when a kept-alive one was closed by the server", async () => {
      // The race servers have with idle keep-alive sockets: the second request on the first connection
      // meets a close and no answer. It is sent again on a new connection, which answers.
      const server = await raw((_path, socket, index) => {
        if (index === 1) socket.destroy();
        else socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      });
      const client = new Http1Client();
      await readAll(await client.get(`${server.url}/1`, options));

      const again = await client.get(`${server.url}/2`, options);

      expect((await readAll(again)).toString()).toBe("ok");
      expect(server.connections()).toBe(2);
      client.close();
    });

    it("refuses response headers larger than 64 KiB and a malformed status line", async () => {
      const server = await raw((path, socket) => {
        if (path === "/huge") socket.write(`HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(70 * 1024)}`);
        else socket.end("SMTP ready\r\n\r\n");
      });
      const client = new Http1Client();

      await expect(client.get(`${server.url}/huge`, options)).rejects.toThrow(/exceed 65536 bytes/);
      await expect(client.get(`${server.url}/garbage`, options)).rejects.toThrow(/not an HTTP\/1.x response/);
      client.close();
    });

    it("fails a request with no answer after the idle timeout, and stops at once when aborted", async () => {
      const server = await raw(() => {});
      const client = new Http1Client();

      const idle = await client
        .get(`${server.url}/`, { headers: {}, idleTimeoutMs: 50 })
        .catch((caught: unknown) => caught);
      expect((idle as Error).name).toBe("TimeoutError");

      const controller = new AbortController();
      const pending = client.get(`${server.url}/`, { ...options, signal: controller.signal });
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: "AbortError" });
      client.close();
    });

    it("refuses a header value with a line break (no request smuggling)", async () => {
      const client = new Http1Client();
      await expect(
        client.get("http://127.0.0.1:9/", { ...options, headers: { "x-a": "b\r\nx-evil: 1" } }),
      ).rejects.toThrow(/line break/);
    });

    it("speaks TLS (https) with the connection's read buffer, verifying the server certificate", async () => {
      const pems = await selfsigned.generate([{ name: "commonName", value: "127.0.0.1" }], {
        keySize: 2048,
        algorithm: "sha256",
        extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }],
      });
      const body = Buffer.alloc(2 * 1024 * 1024, 3);
      const server = createHttpsServer({ key: pems.private, cert: pems.cert }, (_req, res) => {
        res.writeHead(200, { "content-length": body.length });
        res.end(body);
      });
      const url = await listen(server, "https");

      const untrusted = new Http1Client();
      await expect(untrusted.get(`${url}/`, options)).rejects.toThrow(/self[- ]signed/);
      const client = new Http1Client({ tls: { ca: pems.cert } });
      const response = await client.get(`${url}/`, options);

      expect(
        createHash("sha256")
          .update(await readAll(response))
          .digest("hex"),
      ).toBe(createHash("sha256").update(body).digest("hex"));
      client.close();
    });
  });

  describe("Http1Response.drainTo", () => {
    it("hands every body byte to the sink, including those that arrived with the head, and counts them", async () => {
      const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
      const server = await raw((_path, socket) => {
        // Head and the first bytes in one write; the rest later, in pieces.
        socket.write(
          Buffer.concat([
            Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`),
            body.subarray(0, 1000),
          ]),
        );
        setTimeout(() => socket.write(body.subarray(1000, 150_000)), 10);
        setTimeout(() => socket.write(body.subarray(150_000)), 20);
      });
      const client = new Http1Client();
      let counted = 0;
      const response = await client.get(`${server.url}/`, {
        ...options,
        onBytes: (bytes) => void (counted += bytes),
      });
      await new Promise((resolve) => setTimeout(resolve, 15)); // some bytes wait in the stream's buffer

      const parts: Buffer[] = [];
      await response.drainTo((chunk) => parts.push(Buffer.from(chunk)));

      expect(Buffer.concat(parts).equals(body)).toBe(true);
      expect(counted).toBe(body.length);
      client.close();
    });

    it("rejects with the sink's own error and drops the connection when the sink throws", async () => {
      const server = await raw((_path, socket) => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        setTimeout(() => socket.write("0123456789"), 10);
      });
      const client = new Http1Client();
      const response = await client.get(`${server.url}/`, options);

      await expect(
        response.drainTo(() => {
          throw new Error("disk full");
        }),
      ).rejects.toThrow("disk full");
      await readAll(await client.get(`${server.url}/`, options)).catch(() => {});
      expect(server.connections()).toBe(2);
      client.close();
    });
  });
});
