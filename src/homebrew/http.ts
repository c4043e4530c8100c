import { parseRetryAfter } from "../shared/retry.ts";
import { UpstreamError } from "./errors.ts";
import type { HttpResponse } from "./http-client.ts";

export const USER_AGENT = "hbsync/0.1 (homebrew-bottles-sync)";

/** An UpstreamError for a non-success response, with status, URL and parsed Retry-After. */
export function statusError(response: HttpResponse, url: string, what: string): UpstreamError {
  const retryAfterMs = parseRetryAfter(headerOf(response, "retry-after") ?? null);
  const after = retryAfterMs === undefined ? "" : ` (Retry-After ${Math.ceil(retryAfterMs / 1000)} s)`;
  const status = `HTTP ${response.statusCode}${response.statusMessage ? ` ${response.statusMessage}` : ""}`;
  return new UpstreamError(`${what}: ${status} from ${url}${after}`, {
    status: response.statusCode,
    url,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** One header's value (the first, if repeated). */
export function headerOf(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Discards a response body we do not need (a redirect or an error page), keeping the socket reusable. */
export function discard(response: HttpResponse): void {
  response.body.resume();
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
 * Reads a whole (small) body, refusing more than `maxBytes` (a body shorter than its Content-Length
 * errors in the client, retryably).
 */
export async function readBody(response: HttpResponse, url: string, maxBytes: number): Promise<Buffer> {
  const declared = contentLength(response);
  if (declared !== undefined && declared > maxBytes) {
    response.body.destroy();
    throw new UpstreamError(`${url} is ${declared} bytes, more than the ${maxBytes}-byte limit`, { url });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new UpstreamError(`${url} is more than the ${maxBytes}-byte limit`, { url });
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw networkError(error, url, "download interrupted");
  }
  return Buffer.concat(chunks, total);
}

export function contentLength(response: HttpResponse): number | undefined {
  const header = headerOf(response, "content-length");
  if (header === undefined || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header);
}

/** `base` without trailing slashes, joined with `path` segments already encoded. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}
