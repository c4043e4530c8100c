/**
 * One HTTP/1.1 response parsed as its bytes arrive (./http1.ts owns the sockets): the head, then a
 * Content-Length, chunked or close-delimited body fed to an Http1Response, which is a Readable (bytes
 * copied once into 256 KiB chunks) and a DirectSource (bytes handed to a synchronous sink straight
 * from the socket's read buffer, no copy). A body that ends short errors with a retryable
 * UpstreamError naming the bytes received.
 */
import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { DirectSource } from "../shared/direct-source.ts";
import { UpstreamError } from "./errors.ts";

const CHUNK_BYTES = 256 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_CHUNK_LINE_BYTES = 1024;

/**
 * The response and its body, like node:http's IncomingMessage: a Readable with status and headers.
 * It is also a DirectSource: `drainTo` takes the body bytes synchronously from the read buffer.
 */
export class Http1Response extends Readable implements DirectSource {
  statusCode = 0;
  statusMessage = "";
  headers: IncomingHttpHeaders = {};
  /** Body bytes received so far. */
  received = 0;
  /** Set by drainTo: body bytes go here instead of into the stream's buffer. */
  directSink: ((chunk: Uint8Array) => void) | undefined;

  constructor(private readonly onDestroy: (error: Error | null) => void) {
    super({ highWaterMark: 8 * CHUNK_BYTES });
  }

  drainTo(sink: (chunk: Uint8Array) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.directSink !== undefined) throw new Error("drainTo called twice");
      this.on("error", reject);
      this.on("end", () => resolve());
      try {
        // Bytes that arrived before drainTo are in the stream's buffer (or a part-filled chunk): those first.
        this.flushSource();
        for (let chunk = this.read() as Buffer | null; chunk !== null; chunk = this.read() as Buffer | null)
          sink(chunk);
      } catch (error) {
        this.destroy(error as Error);
        return;
      }
      this.directSink = (chunk) => sink(chunk);
      this.resume(); // flowing, so the end is emitted once the source pushes it
      this.resumeSource();
    });
  }

  /** Set by the connection: resumes reading the socket when the consumer wants more. */
  resumeSource: () => void = () => {};
  /** Set by the connection: pushes the body bytes it holds in a part-filled chunk. */
  flushSource: () => void = () => {};

  override _read(): void {
    this.resumeSource();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.onDestroy(error);
    callback(error);
  }
}

type Framing =
  | { kind: "length"; remaining: number }
  | { kind: "chunked" }
  | { kind: "close" }
  | { kind: "none" };

export interface ExchangeEvents {
  onHead(response: Http1Response): void;
  /** `beforeAnyByte`: the server sent nothing at all (a stale kept-alive connection). */
  onFail(error: unknown, beforeAnyByte: boolean): void;
  onDone(keepAlive: boolean): void;
  pause(): void;
  resume(): void;
}

/** Parses one response as its bytes arrive and feeds its body to an Http1Response. */
export class Exchange {
  onSettled: () => void = () => {};
  private state: "head" | "body" | "chunk-size" | "chunk-data" | "chunk-crlf" | "trailers" | "done" = "head";
  private headParts: Buffer[] = [];
  private headBytes = 0;
  private line = "";
  private chunkRemaining = 0;
  private framing: Framing = { kind: "none" };
  private keepAlive = false;
  private response: Http1Response | undefined;
  private chunk: Buffer | undefined;
  private filled = 0;
  private anyByte = false;
  private settled = false;
  /** The direct sink threw: its error goes to the consumer as it is. */
  private sinkFailed = false;

  constructor(
    private readonly url: string,
    private readonly events: ExchangeEvents,
    private readonly onBytes?: (bytes: number, response: Http1Response) => void,
  ) {}

  feed(buffer: Buffer, bytes: number): void {
    this.anyByte = true;
    let offset = 0;
    try {
      while (offset < bytes && this.state !== "done") offset = this.step(buffer, offset, bytes);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.state === "done") {
      // Bytes past the end of the response: the server is out of step; never reuse this connection.
      this.complete(offset === bytes && this.keepAlive);
    }
  }

  /** The peer ended the stream: completes a close-delimited body, otherwise fails. */
  end(): void {
    if (this.state === "body" && this.framing.kind === "close") {
      this.state = "done";
      this.complete(false);
    } else this.fail(new Error("connection closed by the server"));
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.state = "done";
    this.onSettled();
    const { response } = this;
    if (response === undefined) {
      this.events.onFail(error, !this.anyByte);
      return;
    }
    this.events.onFail(error, false);
    response.destroy(this.sinkFailed ? (error as Error) : this.bodyError(error));
  }

  private bodyError(cause: unknown): UpstreamError {
    if (cause instanceof UpstreamError) return cause;
    const received = this.response?.received ?? 0;
    const name = (cause as { name?: unknown } | null)?.name;
    if (name === "AbortError") return cause as UpstreamError;
    if (this.framing.kind === "length") {
      const total = received + this.framing.remaining;
      return new UpstreamError(
        `download interrupted after ${received} bytes: truncated body (got ${received} of ${total} bytes from ${this.url})${name === "TimeoutError" ? ", no data for too long" : ""}`,
        { url: this.url, retryable: true, cause },
      );
    }
    return new UpstreamError(`download interrupted after ${received} bytes (${this.url})`, {
      url: this.url,
      retryable: true,
      cause,
    });
  }

  private complete(keepAlive: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettled();
    this.flushChunk();
    if (this.response) {
      this.response.resumeSource = () => {}; // the socket may serve another exchange from now on
      this.response.flushSource = () => {};
      this.response.push(null);
    }
    this.events.onDone(keepAlive);
  }

  /** Consumes bytes from `offset`; returns the new offset. */
  private step(buffer: Buffer, offset: number, end: number): number {
    switch (this.state) {
      case "head":
        return this.readHead(buffer, offset, end);
      case "body": {
        if (this.framing.kind !== "length") return this.body(buffer, offset, end);
        const take = Math.min(end - offset, this.framing.remaining);
        this.framing.remaining -= take;
        const next = this.body(buffer, offset, offset + take);
        if (this.framing.remaining === 0) this.state = "done";
        return next;
      }
      case "chunk-size":
      case "trailers":
        return this.readLine(buffer, offset, end);
      case "chunk-data": {
        const take = Math.min(end - offset, this.chunkRemaining);
        this.chunkRemaining -= take;
        const next = this.body(buffer, offset, offset + take);
        if (this.chunkRemaining === 0) this.state = "chunk-crlf";
        return next;
      }
      case "chunk-crlf":
        return this.readLine(buffer, offset, end);
      default:
        return end;
    }
  }

  private readHead(buffer: Buffer, offset: number, end: number): number {
    const part = Buffer.from(buffer.subarray(offset, end));
    this.headParts.push(part);
    this.headBytes += part.length;
    const joined = this.headParts.length === 1 ? part : Buffer.concat(this.headParts);
    const at = joined.indexOf("\r\n\r\n");
    if (at < 0) {
      if (this.headBytes > MAX_HEAD_BYTES) {
        throw new UpstreamError(`response headers from ${this.url} exceed ${MAX_HEAD_BYTES} bytes`, {
          url: this.url,
        });
      }
      this.headParts = [joined];
      return end;
    }
    this.headParts = [];
    this.headBytes = 0;
    const consumed = at + 4 - (joined.length - part.length);
    this.parseHead(joined.subarray(0, at).toString("latin1"));
    return offset + consumed;
  }

  private parseHead(text: string): void {
    const [statusLine = "", ...lines] = text.split("\r\n");
    const match = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!match) {
      throw new UpstreamError(
        `not an HTTP/1.x response from ${this.url}: ${JSON.stringify(statusLine.slice(0, 80))}`,
        {
          url: this.url,
          retryable: true,
        },
      );
    }
    const status = Number(match[2]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    if (status >= 100 && status < 200) return; // 100 Continue, 103 Early Hints: the real head follows
    const connection = (headers.connection ?? "").toLowerCase();
    this.keepAlive = match[1] === "1" ? !connection.includes("close") : connection.includes("keep-alive");
    this.framing = framingOf(status, headers, this.url);
    if (this.framing.kind === "close") this.keepAlive = false;
    const response = new Http1Response((error) => {
      // The consumer gave up on the body: a connection with unread bytes cannot be reused.
      if (error !== null || !response.readableEnded) this.abandon();
    });
    response.statusCode = status;
    response.statusMessage = match[3] ?? "";
    response.headers = headers;
    response.resumeSource = () => this.events.resume();
    response.flushSource = () => this.flushChunk();
    this.response = response;
    this.state =
      this.framing.kind === "chunked" ? "chunk-size" : this.framing.kind === "none" ? "done" : "body";
    if (this.framing.kind === "length" && this.framing.remaining === 0) this.state = "done";
    this.events.onHead(response);
  }

  /** The consumer destroyed the body before it ended. */
  private abandon(): void {
    if (this.settled) return;
    this.settled = true;
    this.state = "done";
    this.onSettled();
    this.events.onFail(new Error("response body abandoned"), false);
  }

  private readLine(buffer: Buffer, offset: number, end: number): number {
    const newline = buffer.indexOf(10, offset);
    const stop = newline < 0 || newline >= end ? end : newline;
    this.line += buffer.toString("latin1", offset, stop);
    if (this.line.length > MAX_CHUNK_LINE_BYTES) {
      throw new UpstreamError(`malformed chunked body from ${this.url}`, { url: this.url, retryable: true });
    }
    if (stop === end) return end;
    const line = this.line.replace(/\r$/, "");
    this.line = "";
    if (this.state === "chunk-crlf") {
      if (line !== "")
        throw new UpstreamError(`malformed chunked body from ${this.url}`, {
          url: this.url,
          retryable: true,
        });
      this.state = "chunk-size";
    } else if (this.state === "chunk-size") {
      const size = /^([0-9a-fA-F]{1,12})(?:;.*)?$/.exec(line.trim());
      if (!size)
        throw new UpstreamError(`malformed chunk size from ${this.url}`, { url: this.url, retryable: true });
      this.chunkRemaining = Number.parseInt(size[1] as string, 16);
      this.state = this.chunkRemaining === 0 ? "trailers" : "chunk-data";
    } else if (line === "") {
      this.state = "done"; // the blank line after the (ignored) trailers
    }
    return newline + 1;
  }

  /**
   * Hands body bytes to the direct sink, or copies them into the current chunk (full chunks go to the
   * response, pausing the socket on backpressure). A sink that throws fails the exchange.
   */
  private body(buffer: Buffer, offset: number, end: number): number {
    const response = this.response as Http1Response;
    if (end > offset) this.onBytes?.(end - offset, response);
    if (response.directSink !== undefined) {
      response.received += end - offset;
      try {
        if (end > offset) response.directSink(buffer.subarray(offset, end));
      } catch (error) {
        this.sinkFailed = true;
        throw error;
      }
      return end;
    }
    let at = offset;
    while (at < end) {
      if (this.chunk === undefined) {
        // A body smaller than a chunk (a manifest) gets a Buffer of its own size.
        const left = this.framing.kind === "length" ? this.framing.remaining + (end - at) : CHUNK_BYTES;
        this.chunk = left < CHUNK_BYTES ? Buffer.allocUnsafe(left) : Buffer.allocUnsafeSlow(CHUNK_BYTES);
        this.filled = 0;
      }
      const take = Math.min(end - at, this.chunk.length - this.filled);
      buffer.copy(this.chunk, this.filled, at, at + take);
      this.filled += take;
      at += take;
      response.received += take;
      if (this.filled === this.chunk.length) this.flushChunk();
    }
    return end;
  }

  private flushChunk(): void {
    if (this.chunk === undefined || this.filled === 0) return;
    const chunk = this.filled === this.chunk.length ? this.chunk : this.chunk.subarray(0, this.filled);
    this.chunk = undefined;
    this.filled = 0;
    if (!(this.response as Http1Response).push(chunk)) this.events.pause();
  }
}

function framingOf(status: number, headers: Record<string, string>, url: string): Framing {
  if (status === 204 || status === 304) return { kind: "none" };
  const encoding = headers["transfer-encoding"]?.toLowerCase();
  if (encoding !== undefined && encoding !== "identity") {
    if (encoding.split(",").at(-1)?.trim() === "chunked") return { kind: "chunked" };
    return { kind: "close" };
  }
  const length = headers["content-length"];
  if (length === undefined) return { kind: "close" };
  const values = new Set(length.split(",").map((value) => value.trim()));
  const [only] = values;
  if (values.size !== 1 || only === undefined || !/^\d{1,15}$/.test(only)) {
    throw new UpstreamError(`invalid Content-Length ${JSON.stringify(length)} from ${url}`, {
      url,
      retryable: true,
    });
  }
  return { kind: "length", remaining: Number(only) };
}
