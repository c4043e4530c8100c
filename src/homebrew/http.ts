import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { parseRetryAfter } from "../shared/retry.ts";
import { UpstreamError } from "./errors.ts";

/** The subset of the global fetch we use; injectable for tests. */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export const USER_AGENT = "hbsync/0.1 (homebrew-bottles-sync)";

/** An UpstreamError for a non-success response, with status, URL and parsed Retry-After. */
export function statusError(response: Response, url: string, what: string): UpstreamError {
  return statusErrorOf(response.status, response.statusText, response.headers.get("retry-after"), url, what);
}

/** statusError for a node:http response. */
export function incomingStatusError(response: IncomingMessage, url: string, what: string): UpstreamError {
  const retryAfter = response.headers["retry-after"];
  return statusErrorOf(response.statusCode ?? 0, response.statusMessage ?? "", retryAfter ?? null, url, what);
}

function statusErrorOf(
  status: number,
  statusText: string,
  retryAfter: string | null,
  url: string,
  what: string,
): UpstreamError {
  const retryAfterMs = parseRetryAfter(retryAfter);
  const after = retryAfterMs === undefined ? "" : ` (Retry-After ${Math.ceil(retryAfterMs / 1000)} s)`;
  return new UpstreamError(`${what}: HTTP ${status} ${statusText} from ${url}${after}`, {
    status,
    url,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** Keep-alive agents for node:http(s) requests (one pair per client; idle sockets never hold the process). */
export interface HttpAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

export function keepAliveAgents(): HttpAgents {
  const options = { keepAlive: true, scheduling: "lifo" } as const;
  return { http: new HttpAgent(options), https: new HttpsAgent(options) };
}

export interface HttpGetOptions {
  headers: Record<string, string>;
  agents: HttpAgents;
  signal?: AbortSignal;
  /** Socket inactivity limit (headers and body) in ms: a stalled connection fails, retryable. */
  idleTimeoutMs: number;
}

/**
 * One GET with node:http(s), without following redirects, resolving with the response as soon as its
 * headers arrive (the body is the IncomingMessage itself: no web-stream conversion on the bottle path).
 * Network failures reject raw (wrap them with networkError); only http: and https: URLs are fetched.
 */
export function httpGet(url: string, options: HttpGetOptions): Promise<IncomingMessage> {
  const parsed = new URL(url);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return Promise.reject(new UpstreamError(`refusing to fetch ${url}: not an http(s) URL`, { url }));
  }
  return new Promise((resolve, reject) => {
    const secure = parsed.protocol === "https:";
    const request = (secure ? httpsRequest : httpRequest)(
      parsed,
      {
        method: "GET",
        headers: options.headers,
        agent: secure ? options.agents.https : options.agents.http,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      resolve,
    );
    request.setTimeout(options.idleTimeoutMs, () => {
      const error = new Error(`no data for ${options.idleTimeoutMs} ms`);
      error.name = "TimeoutError";
      request.destroy(error);
    });
    request.on("error", reject);
    request.end();
  });
}

/** Discards a response body we do not need (a redirect or an error page), keeping the socket reusable. */
export function discard(response: IncomingMessage): void {
  response.on("error", () => {});
  response.resume();
}

/** Wraps a network-level failure (reset, refused, timeout) with the URL; keeps the cause. */
export function networkError(error: unknown, url: string, what: string): unknown {
  if (error instanceof UpstreamError) return error;
  if (error instanceof Error && error.name === "AbortError") {
    // node:http aborts with an AbortError whose cause is the signal's reason: a timeout stays retryable.
    const cause = error.cause as { name?: unknown } | undefined;
    if (cause?.name !== "TimeoutError") return error;
    return new UpstreamError(`${what}: timed out (${url})`, { url, retryable: true, cause: error });
  }
  const detail = describeCause(error);
  return new UpstreamError(`${what}: ${detail} (${url})`, { url, retryable: true, cause: error });
}

function describeCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 3 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === "string" ? `${current.message} [${code}]` : current.message);
    current = current.cause;
  }
  return parts.join(": ") || String(error);
}

/**
 * Reads a whole (small) body, refusing more than `maxBytes` and a body shorter than its
 * Content-Length (a truncated response is a retryable UpstreamError).
 */
export async function readBody(response: Response, url: string, maxBytes: number): Promise<Uint8Array> {
  const declared = contentLength(response);
  if (declared !== undefined && declared > maxBytes) {
    await response.body?.cancel();
    throw new UpstreamError(`${url} is ${declared} bytes, more than the ${maxBytes}-byte limit`, { url });
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        total += chunk.byteLength;
        if (total > maxBytes) {
          throw new UpstreamError(`${url} is more than the ${maxBytes}-byte limit`, { url });
        }
        chunks.push(chunk);
      }
    } catch (error) {
      throw networkError(error, url, "download interrupted");
    }
  }
  const encoded = response.headers.get("content-encoding");
  if (declared !== undefined && (encoded === null || encoded === "identity") && total !== declared) {
    throw new UpstreamError(`truncated body: got ${total} of ${declared} bytes from ${url}`, {
      url,
      retryable: true,
    });
  }
  return Buffer.concat(chunks, total);
}

/** readBody for a node:http response: at most `maxBytes`, and never shorter than its Content-Length. */
export async function readIncoming(
  response: IncomingMessage,
  url: string,
  maxBytes: number,
): Promise<Buffer> {
  const declared = contentLength(response);
  if (declared !== undefined && declared > maxBytes) {
    response.destroy();
    throw new UpstreamError(`${url} is ${declared} bytes, more than the ${maxBytes}-byte limit`, { url });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new UpstreamError(`${url} is more than the ${maxBytes}-byte limit`, { url });
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw networkError(error, url, "download interrupted");
  }
  const encoded = response.headers["content-encoding"];
  if (declared !== undefined && (encoded === undefined || encoded === "identity") && total !== declared) {
    throw new UpstreamError(`truncated body: got ${total} of ${declared} bytes from ${url}`, {
      url,
      retryable: true,
    });
  }
  return Buffer.concat(chunks, total);
}

export function contentLength(response: Response | IncomingMessage): number | undefined {
  const header =
    response.headers instanceof Headers
      ? response.headers.get("content-length")
      : (response.headers["content-length"] ?? null);
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header);
}

/** `base` without trailing slashes, joined with `path` segments already encoded. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}
