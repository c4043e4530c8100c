import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as delay } from "node:timers/promises";
import type { Fault } from "./faults.ts";

/** A response body the emulator can serve whole or by range, without holding it in memory. */
export interface BodySource {
  size: number;
  contentType: string;
  /** Bytes start..end inclusive. */
  open(start: number, end: number): Readable | Buffer;
}

export interface SendOptions {
  /** A body fault (truncate, corrupt, slow) to apply; status/reset faults are answered before. */
  fault?: Fault | undefined;
  lastModified?: Date;
  /** Honour `Range: bytes=a-b` (single range). */
  range: boolean;
}

/** Sends `source` with Content-Length (and Range/Last-Modified support); resolves to body bytes sent. */
export async function sendBody(
  req: IncomingMessage,
  res: ServerResponse,
  source: BodySource,
  options: SendOptions,
): Promise<number> {
  if (options.lastModified) {
    res.setHeader("last-modified", options.lastModified.toUTCString());
    const since = Date.parse(req.headers["if-modified-since"] ?? "");
    if (!Number.isNaN(since) && options.lastModified.getTime() <= since) {
      res.writeHead(304);
      res.end();
      return 0;
    }
  }
  let start = 0;
  let end = source.size - 1;
  let status = 200;
  if (options.range) {
    res.setHeader("accept-ranges", "bytes");
    const range = parseRange(req.headers.range, source.size);
    if (range === "unsatisfiable") {
      res.writeHead(416, { "content-range": `bytes */${source.size}`, "content-length": "0" });
      res.end();
      return 0;
    }
    if (range) {
      ({ start, end } = range);
      status = 206;
      res.setHeader("content-range", `bytes ${start}-${end}/${source.size}`);
    }
  }
  const length = Math.max(0, end - start + 1);
  const fault = options.fault;
  if (fault?.kind === "slow" && fault.delayMs) await delay(fault.delayMs);
  if (fault?.kind === "bad-chunking" && req.method !== "HEAD" && length > 0) {
    const afterBytes = fault.afterBytes < 0 ? Math.max(0, length + fault.afterBytes) : fault.afterBytes;
    return sendBadChunking(res, source, { start, end, status, afterBytes });
  }
  res.writeHead(status, { "content-type": source.contentType, "content-length": String(length) });
  if (req.method === "HEAD" || length === 0) {
    res.end();
    return 0;
  }
  const body = source.open(start, end);
  const stream = Buffer.isBuffer(body) ? Readable.from([body]) : body;
  if (!fault) {
    try {
      await pipeline(stream, res);
      return length;
    } catch {
      return 0;
    }
  }
  return pumpWithFault(stream, res, fault, start, length);
}

async function pumpWithFault(
  stream: Readable,
  res: ServerResponse,
  fault: Fault,
  start: number,
  length: number,
): Promise<number> {
  let sent = 0;
  const cut = cutAt(fault, length);
  try {
    for await (const raw of stream as AsyncIterable<Buffer>) {
      let chunk = raw;
      if (fault.kind === "corrupt") {
        const target = (fault.offset ?? Math.floor(Number(res.getHeader("content-length")) / 2)) - start;
        if (target >= sent && target < sent + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[target - sent] = (chunk[target - sent] ?? 0) ^ 0xff;
        }
      }
      if (cut !== undefined && sent + chunk.length >= cut) {
        const part = chunk.subarray(0, Math.max(0, cut - sent));
        if (part.length > 0) await write(res, part);
        sent += part.length;
        stream.destroy();
        // Give the partial bytes a moment to leave, then break the connection mid-body.
        await delay(20);
        if (fault.kind === "stall") await stall(res);
        else if (fault.kind === "reset") res.socket?.resetAndDestroy();
        else res.socket?.destroy();
        return sent;
      }
      if (fault.kind === "slow" && fault.bytesPerSecond) {
        await delay(Math.ceil((chunk.length / fault.bytesPerSecond) * 1000));
      }
      if (!(await write(res, chunk))) {
        stream.destroy();
        return sent;
      }
      sent += chunk.length;
    }
    res.end();
  } catch {
    res.destroy();
  }
  return sent;
}

/**
 * Where a body fault breaks the body (the bytes sent before it), if it does; a negative `afterBytes`
 * counts from the end (-1: everything but the last byte).
 */
function cutAt(fault: Fault, length: number): number | undefined {
  const after =
    fault.kind === "truncate" || fault.kind === "stall" || fault.kind === "reset"
      ? fault.afterBytes
      : undefined;
  if (after === undefined) return undefined;
  return after < 0 ? Math.max(0, length + after) : after;
}

/** Holds the connection open, sending nothing, until the client gives up (at most a minute). */
async function stall(res: ServerResponse): Promise<void> {
  if (res.destroyed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 60_000);
    timer.unref();
    res.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  res.socket?.destroy();
}

/**
 * A chunked response written straight to the socket (node:http would frame it correctly): chunks of
 * the body up to `afterBytes`, then a chunk size that is not hex, then the connection closes.
 */
async function sendBadChunking(
  res: ServerResponse,
  source: BodySource,
  range: { start: number; end: number; status: number; afterBytes: number },
): Promise<number> {
  const socket = res.socket;
  if (!socket) return 0;
  const body = source.open(range.start, range.end);
  const stream = Buffer.isBuffer(body) ? Readable.from([body]) : body;
  const head = `HTTP/1.1 ${range.status} OK\r\ncontent-type: ${source.contentType}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n`;
  let sent = 0;
  socket.write(head);
  for await (const raw of stream as AsyncIterable<Buffer>) {
    const part = raw.subarray(0, Math.max(0, range.afterBytes - sent));
    if (part.length > 0)
      socket.write(`${part.length.toString(16)}\r\n${part.toString("latin1")}\r\n`, "latin1");
    sent += part.length;
    if (sent >= range.afterBytes) break;
  }
  stream.destroy();
  socket.write("zz\r\nnot a chunk\r\n");
  await delay(20);
  socket.destroy();
  return sent;
}

/** Writes one chunk, waiting for drain; false when the client went away. */
function write(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}

/** A single `bytes=a-b` / `bytes=a-` / `bytes=-n` range; undefined to ignore, or unsatisfiable. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify({ errors: [{ code: String(status), message }] }), "utf8");
  res.writeHead(status, { "content-type": "application/json", "content-length": String(body.length) });
  res.end(body);
}

/** The same `.jws.json` with one character of its signature changed: it no longer verifies. */
export function tamperSignature(file: Buffer): Buffer {
  const document = JSON.parse(file.toString("utf8")) as { signatures: Array<{ signature: string }> };
  const entry = document.signatures[0];
  if (entry) {
    const first = entry.signature[0] === "A" ? "B" : "A";
    entry.signature = `${first}${entry.signature.slice(1)}`;
  }
  return Buffer.from(JSON.stringify(document), "utf8");
}
