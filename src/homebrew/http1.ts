/**
 * A small HTTP/1.1 client for the registry (GET only: manifests and bottle blobs), built for the bottle
 * path: each connection reads into ONE reused buffer (net/tls `onread`), and body bytes are copied
 * once into chunks of up to 1 MiB. node:http allocates two Buffers per 64 KiB read (the socket read and
 * the parser's copy of the body), which at hundreds of MB/s keeps V8's garbage collector busy for a
 * third of a sync's CPU (bench/README.md). Read as a stream, body bytes are copied once into 256 KiB
 * chunks; drained with `drainTo` (src/shared/direct-source.ts), they go to the consumer straight from
 * the read buffer, with no copy at all.
 *
 * What it does: keep-alive connections per origin (a reused connection that the server had closed is
 * retried once on a new one), Content-Length, chunked and close-delimited bodies, 1xx responses skipped,
 * an idle timeout, AbortSignal. A body that ends short of its Content-Length (or mid-chunk) errors with
 * a retryable UpstreamError naming the bytes received. What it leaves out: request bodies, pipelining,
 * HTTP/2, proxies (like node:http without an agent for them); redirects are the caller's.
 */
import type { IncomingHttpHeaders } from "node:http";
import { connect as netConnect, type Socket } from "node:net";
import { Readable } from "node:stream";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import type { DirectSource } from "../shared/direct-source.ts";
import { UpstreamError } from "./errors.ts";

const READ_BUFFER_BYTES = 256 * 1024;
const CHUNK_BYTES = 256 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_CHUNK_LINE_BYTES = 1024;
const MAX_IDLE_PER_ORIGIN = 16;

export interface Http1GetOptions {
  headers: Record<string, string>;
  /** No bytes (connect, headers or body) for this long fails the request, retryably. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
  /** Called with the size of every piece of body received (progress), whichever way it is read. */
  onBytes?: (bytes: number, response: Http1Response) => void;
}

export interface Http1ClientOptions {
  /** Extra TLS options (tests pass `ca` for a self-signed server). */
  tls?: Pick<ConnectionOptions, "ca" | "rejectUnauthorized">;
}

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

export class Http1Client {
  private readonly idle = new Map<string, Connection[]>();

  constructor(private readonly options: Http1ClientOptions = {}) {}

  /**
   * GETs `url` and resolves when the response head arrives (the body streams from the response).
   * Connection failures before the head reject with the raw network error (callers wrap them).
   */
  async get(url: string, options: Http1GetOptions): Promise<Http1Response> {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new UpstreamError(`refusing to fetch ${url}: not an http(s) URL`, { url });
    }
    const request = requestHead(parsed, options.headers);
    for (let attempt = 0; ; attempt++) {
      const reused = this.takeIdle(parsed.origin);
      const connection = reused ?? this.open(parsed);
      try {
        return await connection.exchange(request, url, options);
      } catch (error) {
        // A kept-alive connection the server closed meanwhile fails before any byte: once more, fresh.
        if (reused !== undefined && attempt === 0 && error instanceof StaleConnectionError) continue;
        throw error instanceof StaleConnectionError ? error.cause : error;
      }
    }
  }

  /** Closes idle connections (those in use finish their response first). */
  close(): void {
    for (const list of this.idle.values()) for (const connection of list) connection.socket.destroy();
    this.idle.clear();
  }

  private takeIdle(origin: string): Connection | undefined {
    const list = this.idle.get(origin);
    const connection = list?.pop();
    if (list?.length === 0) this.idle.delete(origin);
    return connection;
  }

  private open(url: URL): Connection {
    const secure = url.protocol === "https:";
    const port = Number(url.port || (secure ? 443 : 80));
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    return new Connection(
      url.origin,
      (onread) =>
        secure
          ? tlsConnect({
              host,
              port,
              ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
              ALPNProtocols: ["http/1.1"],
              ...this.options.tls,
              onread,
            } as ConnectionOptions)
          : netConnect({ host, port, onread }),
      (connection) => this.release(connection),
    );
  }

  private release(connection: Connection): void {
    const list = this.idle.get(connection.origin) ?? [];
    if (list.length >= MAX_IDLE_PER_ORIGIN) {
      connection.socket.destroy();
      return;
    }
    list.push(connection);
    this.idle.set(connection.origin, list);
    connection.onClose = () => {
      const current = this.idle.get(connection.origin);
      const index = current?.indexOf(connection) ?? -1;
      if (current && index >= 0) current.splice(index, 1);
    };
  }
}

/** A reused connection closed before answering (not an error of the request itself). */
class StaleConnectionError extends Error {
  constructor(override readonly cause: unknown) {
    super("the kept-alive connection was closed by the server");
  }
}

type Framing =
  | { kind: "length"; remaining: number }
  | { kind: "chunked" }
  | { kind: "close" }
  | { kind: "none" };

interface OnRead {
  buffer: Uint8Array;
  callback: (bytes: number, buffer: Uint8Array) => boolean;
}

/** One socket; at most one exchange at a time. */
class Connection {
  readonly socket: Socket;
  onClose: () => void = () => {};
  private current: Exchange | undefined;
  private used = false;

  constructor(
    readonly origin: string,
    connect: (onread: OnRead) => Socket,
    private readonly release: (connection: Connection) => void,
  ) {
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    this.socket = connect({
      buffer,
      callback: (bytes) => {
        if (this.current) this.current.feed(buffer, bytes);
        else this.socket.destroy(); // bytes nobody asked for: the connection is out of step
        return true;
      },
    });
    this.socket.setNoDelay(true);
    this.socket.on("error", (error) => this.current?.fail(error));
    this.socket.on("end", () => this.current?.end());
    this.socket.on("close", () => {
      this.current?.fail(new Error("socket closed"));
      this.onClose();
    });
    this.socket.on("timeout", () => {
      const error = new Error(`no data for ${this.socket.timeout} ms`);
      error.name = "TimeoutError";
      this.socket.destroy(error);
    });
  }

  exchange(head: string, url: string, options: Http1GetOptions): Promise<Http1Response> {
    const reused = this.used;
    this.used = true;
    this.socket.ref();
    this.socket.setTimeout(options.idleTimeoutMs);
    return new Promise<Http1Response>((resolve, reject) => {
      const exchange = new Exchange(
        url,
        {
          onHead: resolve,
          onFail: (error, beforeAnyByte) => {
            this.current = undefined;
            this.socket.destroy();
            reject(reused && beforeAnyByte ? new StaleConnectionError(error) : error);
          },
          onDone: (keepAlive) => {
            this.current = undefined;
            if (!keepAlive || this.socket.destroyed) {
              this.socket.destroy();
              return;
            }
            this.socket.setTimeout(0);
            this.socket.unref();
            this.release(this);
          },
          pause: () => this.socket.pause(),
          resume: () => this.socket.resume(),
        },
        options.onBytes,
      );
      this.current = exchange;
      const { signal } = options;
      if (signal) {
        const abort = (): void => {
          const error = new Error("The operation was aborted", { cause: signal.reason });
          error.name = "AbortError";
          exchange.fail(error);
        };
        if (signal.aborted) return abort();
        signal.addEventListener("abort", abort, { once: true });
        exchange.onSettled = () => signal.removeEventListener("abort", abort);
      }
      // The previous exchange may have left the socket paused (its body filled up before it ended).
      this.socket.resume();
      this.socket.write(head);
    });
  }
}

interface ExchangeEvents {
  onHead(response: Http1Response): void;
  /** `beforeAnyByte`: the server sent nothing at all (a stale kept-alive connection). */
  onFail(error: unknown, beforeAnyByte: boolean): void;
  onDone(keepAlive: boolean): void;
  pause(): void;
  resume(): void;
}

/** Parses one response as its bytes arrive and feeds its body to an Http1Response. */
class Exchange {
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

function requestHead(url: URL, headers: Record<string, string>): string {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
      throw new UpstreamError(`refusing a header with a line break (${name})`, { url: url.toString() });
    }
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join("\r\n")}\r\n\r\n`;
}
