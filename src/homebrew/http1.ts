/**
 * A small HTTP/1.1 client for the registry (GET only: manifests and bottle blobs), built for the bottle
 * path: each connection reads into ONE reused buffer (net/tls `onread`). node:http allocates two
 * Buffers per 64 KiB read (the socket read and the parser's copy of the body), which at hundreds of
 * MB/s keeps V8's garbage collector busy for a third of a sync's CPU (bench/README.md). The response
 * (./http1-response.ts) is a Readable, and a DirectSource whose bytes go straight from the read
 * buffer to the consumer (src/shared/direct-source.ts).
 *
 * What it does: keep-alive connections per origin (a reused connection that the server had closed is
 * retried once on a new one), Content-Length, chunked and close-delimited bodies, 1xx responses skipped,
 * an idle timeout, AbortSignal. A body that ends short of its Content-Length (or mid-chunk) errors with
 * a retryable UpstreamError naming the bytes received. What it leaves out: request bodies, pipelining,
 * HTTP/2, proxies (like node:http without an agent for them); redirects are the caller's.
 */
import { connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { UpstreamError } from "./errors.ts";
import { Exchange, Http1Response } from "./http1-response.ts";

export { Http1Response };

const READ_BUFFER_BYTES = 256 * 1024;
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
