import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { parseRetryAfter } from "../shared/retry.ts";
import { UpstreamError } from "./errors.ts";

/** The subset of the global fetch we use; injectable for tests. */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export const USER_AGENT = "hbsync/0.1 (homebrew-bottles-sync)";

/** An UpstreamError for a non-success response, with status, URL and parsed Retry-After. */
export function statusError(response: Response, url: string, what: string): UpstreamError {
  return statusErrorOf(response.status, response.statusText, response.headers.get("retry-after"), url, what);
}

/** A response read with node:http or ./http1.ts: the body stream, with its status and headers. */
export interface StreamedResponse extends Readable {
  statusCode?: number | undefined;
  statusMessage?: string | undefined;
  headers: IncomingHttpHeaders;
}

/** statusError for a streamed (node:http-shaped) response. */
export function incomingStatusError(response: StreamedResponse, url: string, what: string): UpstreamError {
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

/** Discards a response body we do not need (a redirect or an error page), keeping the socket reusable. */
export function discard(response: StreamedResponse): void {
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

/** readBody for a streamed response: at most `maxBytes`, and never shorter than its Content-Length. */
export async function readIncoming(
  response: StreamedResponse,
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

export function contentLength(response: Response | StreamedResponse): number | undefined {
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
