/**
 * Every outbound GET of the upstream clients, on undici 7 (Node 20): one dispatcher per client, an
 * EnvHttpProxyAgent, so a pool of kept-alive connections per origin (bounded by `connections`) and the
 * proxy of `mirror.upstream.proxy`, else HTTPS_PROXY / HTTP_PROXY with NO_PROXY, for every request.
 *
 * Responses come through undici's `dispatch` handler API rather than `request()`: each body chunk is
 * pushed, as the parser produces it, into a plain Readable (no copy; backpressure through
 * controller.pause/resume), which the stores read as any stream. `npm run bench -- http-body` chose it
 * (bench/README.md): faster than `request()`'s body, and faster than handing each chunk to a
 * synchronous writer (the DirectSource the hand-written client had, dropped with it).
 *
 * Every way a response can fail after its head (reset, close mid-body or inside the last chunk, a
 * body shorter than its Content-Length, bad chunked framing, a stall past the idle timeout) errors the
 * body with a retryable UpstreamError naming the URL and the bytes received; failures before the head
 * reject `httpGet` with undici's own error (callers wrap it with networkError).
 */
import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { type Dispatcher, EnvHttpProxyAgent } from "undici";
import { UpstreamError } from "./errors.ts";

/** Connections per origin (undici's pool size); the sync runs at most `transfers` + `checkers` at once. */
export const DEFAULT_CONNECTIONS = 16;
const BODY_HIGH_WATER_MARK = 2 * 1024 * 1024;

export interface HttpClientOptions {
  /** Every request through this proxy (`mirror.upstream.proxy`); default HTTPS_PROXY/HTTP_PROXY. */
  proxy?: string;
  /**
   * Where HTTPS_PROXY / HTTP_PROXY / NO_PROXY (or their lowercase forms) are read (default
   * process.env). NO_PROXY applies to `proxy` too.
   */
  env?: NodeJS.ProcessEnv;
  /** Connections per origin (default 16). */
  connections?: number;
  /** Extra TLS options for the servers (tests pass `ca` for a self-signed one). */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
}

/** The dispatcher of one upstream client: pooled keep-alive connections, through the proxy if any. */
export function createDispatcher(options: HttpClientOptions = {}): Dispatcher {
  const env = options.env ?? process.env;
  // Given explicitly (an empty string: none), so undici never falls back to another environment.
  const httpsProxy = options.proxy ?? env.https_proxy ?? env.HTTPS_PROXY ?? "";
  const httpProxy = options.proxy ?? env.http_proxy ?? env.HTTP_PROXY ?? "";
  return new EnvHttpProxyAgent({
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    httpProxy,
    // Like curl: an https URL goes through HTTPS_PROXY, else HTTP_PROXY.
    httpsProxy: httpsProxy || httpProxy,
    noProxy: env.no_proxy ?? env.NO_PROXY ?? "",
    ...(options.tls ? { connect: options.tls, requestTls: options.tls } : {}),
  });
}

export interface HttpGetOptions {
  headers: Record<string, string>;
  /** No response head, or no body bytes, for this long fails the request, retryably. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
  /** Called with the size of every piece of a 2xx body as it is received (progress). */
  onBytes?: (bytes: number) => void;
}

export interface HttpResponse {
  statusCode: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  body: ResponseBody;
}

/** GETs `url`; resolves when the response head arrives (the body streams from `body`). */
export function httpGet(dispatcher: Dispatcher, url: string, options: HttpGetOptions): Promise<HttpResponse> {
  const parsed = new URL(url);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return Promise.reject(new UpstreamError(`refusing to fetch ${url}: not an http(s) URL`, { url }));
  }
  return new Promise<HttpResponse>((resolve, reject) => {
    const handler = new GetHandler(url, options, resolve, reject);
    dispatcher.dispatch(
      {
        origin: parsed.origin,
        path: `${parsed.pathname}${parsed.search}`,
        method: "GET",
        headers: options.headers,
        headersTimeout: options.idleTimeoutMs,
        bodyTimeout: options.idleTimeoutMs,
      },
      handler,
    );
  });
}

/** A response body: a Readable fed by the handler; destroying it early stops the transfer. */
export class ResponseBody extends Readable {
  /** Body bytes received so far. */
  received = 0;

  constructor(
    private readonly resumeSource: () => void,
    private readonly abortSource: (error: Error) => void,
  ) {
    super({ highWaterMark: BODY_HIGH_WATER_MARK });
    // A failure with no consumer listening yet (the body handed on but not read) must not become an
    // unhandled 'error' event: every consumer still sees it (`errored`, its own listeners).
    this.on("error", () => {});
  }

  override _read(): void {
    this.resumeSource();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A consumer that gives up (or fails) stops the transfer: the connection is not reused.
    if (!this.readableEnded) this.abortSource(error ?? new Error("the response body was discarded"));
    callback(error);
  }
}

/** undici's handler for one GET: resolves at the head, then feeds the body. */
class GetHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private body: ResponseBody | undefined;
  private statusCode = 0;
  private settled = false;
  private removeAbortListener: () => void = () => {};

  constructor(
    private readonly url: string,
    private readonly options: HttpGetOptions,
    private readonly resolve: (response: HttpResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    const { signal } = this.options;
    if (!signal) return;
    const abort = (): void => {
      const error = new Error("The operation was aborted", { cause: signal.reason });
      error.name = "AbortError";
      controller.abort(error);
    };
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
    this.removeAbortListener = () => signal.removeEventListener("abort", abort);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return; // 1xx: the real response follows
    this.statusCode = statusCode;
    this.body = new ResponseBody(
      () => controller.resume(),
      (error) => {
        if (!this.settled) controller.abort(error);
      },
    );
    this.resolve({ statusCode, statusMessage: statusMessage ?? "", headers, body: this.body });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const body = this.body;
    if (!body) return;
    body.received += chunk.byteLength;
    if (this.statusCode >= 200 && this.statusCode <= 299) this.options.onBytes?.(chunk.byteLength);
    if (!body.push(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    this.removeAbortListener();
    this.body?.push(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.removeAbortListener();
    if (!this.body) {
      this.reject(error);
      return;
    }
    this.body.destroy(bodyError(error, this.url, this.body.received));
  }
}

/**
 * A failure after the head, as the consumer sees it: an abort stays an AbortError (never retried
 * unless it was a timeout); everything else is a retryable UpstreamError naming the bytes received.
 */
function bodyError(error: Error, url: string, received: number): Error {
  if (error.name === "AbortError" && (error.cause as { name?: unknown } | undefined)?.name !== "TimeoutError")
    return error;
  if (error instanceof UpstreamError) return error;
  const code = (error as { code?: unknown }).code;
  const detail = typeof code === "string" ? `${error.message} [${code}]` : error.message;
  return new UpstreamError(`download of ${url} interrupted after ${received} bytes: ${detail}`, {
    url,
    retryable: true,
    cause: error,
  });
}
