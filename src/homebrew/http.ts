import { UpstreamError } from "./errors.ts";
import { parseRetryAfter } from "./retry.ts";

/** The subset of the global fetch we use; injectable for tests. */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export const USER_AGENT = "hbsync/0.1 (homebrew-bottles-sync)";

/** An UpstreamError for a non-success response, with status, URL and parsed Retry-After. */
export function statusError(response: Response, url: string, what: string): UpstreamError {
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  const after = retryAfterMs === undefined ? "" : ` (Retry-After ${Math.ceil(retryAfterMs / 1000)} s)`;
  return new UpstreamError(`${what}: HTTP ${response.status} ${response.statusText} from ${url}${after}`, {
    status: response.status,
    url,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** Wraps a network-level failure (reset, refused, timeout) with the URL; keeps the cause. */
export function networkError(error: unknown, url: string, what: string): unknown {
  if (error instanceof UpstreamError) return error;
  if (error instanceof Error && error.name === "AbortError") return error;
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

export function contentLength(response: Response): number | undefined {
  const header = response.headers.get("content-length");
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header);
}

/** `base` without trailing slashes, joined with `path` segments already encoded. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}
