import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { InvalidUpstreamDataError, UpstreamError } from "./errors.ts";
import { BOTTLE_TAG, SHA256_HEX } from "./formula-schema.ts";
import {
  contentLength,
  discard,
  headerOf,
  joinUrl,
  networkError,
  readBody,
  statusError,
  USER_AGENT,
} from "./http.ts";
import { createDispatcher, type HttpClientOptions, type HttpResponse, httpGet } from "./http-client.ts";
import { type RetryOptions, withRetry } from "./retry.ts";

/**
 * The OCI registry bottles live in (ghcr.io/v2/homebrew/core, or the emulator), as brew talks to it
 * (DESIGN.md §1): anonymous `Authorization: Bearer QQ==`; manifests are OCI image indexes whose
 * entries carry `sh.brew.bottle.digest` / `sh.brew.bottle.size` and a per-tag
 * `org.opencontainers.image.ref.name` of `<pkg_version>.<tag>[.<rebuild>]` (Homebrew/brew
 * github_packages.rb `upload_bottle`, `version_rebuild`); blobs redirect to another host, which must
 * never see the Authorization header.
 */
export const ANONYMOUS_TOKEN = "QQ==";
export const OCI_INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
/** Larger sizes in a manifest are refused as absurd (the biggest bottles today are ~1 GB). */
export const MAX_BOTTLE_SIZE = 64 * 1024 ** 3;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface BottleManifest {
  /** Bottle size in bytes per tag (`arm64_sequoia` → 12345). */
  sizes: Map<string, number>;
  /** Bottle sha256 (lowercase hex) per tag. */
  digests: Map<string, string>;
  /** The manifest bytes exactly as served (stored as the mirror's manifest). */
  raw: Uint8Array;
  mediaType: string;
  /** Manifest entries ignored because a value was invalid (bad digest, absurd size, no tag). */
  rejected: Array<{ tag?: string; reason: string }>;
}

export interface BlobResponse {
  /**
   * The bottle bytes. Errors with a retryable UpstreamError if the transfer fails or the body ends
   * short of `size`.
   */
  body: Readable;
  /** Content-Length of the final response, when sent. */
  size?: number;
  /** The byte offset the body starts at: `start` when the server honoured the Range, else 0. */
  offset: number;
  /** The URL that finally served the bytes (after redirects). */
  url: string;
}

export interface RegistryClientOptions {
  /** `https://ghcr.io/v2/homebrew/core`, or the emulator's `registry` URL. */
  registryBase: string;
  /** Bearer token for the registry origin only (default the anonymous `QQ==`). */
  token?: string;
  /** Retry policy for manifests (blob streams are retried by the caller, around the whole transfer). */
  retry?: RetryOptions;
  maxRedirects?: number;
  /** Manifest request timeout (default 60 000 ms). */
  timeoutMs?: number;
  /** A blob connection idle this long (no headers or body bytes) fails, retryable (default 120 000 ms). */
  idleTimeoutMs?: number;
  /** Proxy, pool size and TLS options of the client (./http-client.ts). */
  http?: HttpClientOptions;
  /** A dispatcher to share instead (then `http` is ignored and `close` leaves it open). */
  dispatcher?: Dispatcher;
}

/** Manifests and blobs over undici (./http-client.ts): pooled keep-alive connections, proxies. */
export class RegistryClient {
  private readonly base: string;
  private readonly origin: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly token: string;
  private readonly retry: RetryOptions;
  private readonly maxRedirects: number;
  private readonly timeoutMs: number;
  private readonly idleTimeoutMs: number;

  constructor(options: RegistryClientOptions) {
    this.base = options.registryBase.replace(/\/+$/, "");
    this.origin = new URL(this.base).origin;
    this.token = options.token ?? ANONYMOUS_TOKEN;
    this.retry = options.retry ?? {};
    this.maxRedirects = options.maxRedirects ?? 5;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? createDispatcher(options.http);
  }

  /** Closes the connections (after the responses in flight). */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** The OCI image index of `<image>/manifests/<reference>`, with sizes and digests per tag. */
  async manifest(image: string, reference: string): Promise<BottleManifest> {
    const url = joinUrl(this.base, `${encodePath(image)}/manifests/${encodeURIComponent(reference)}`);
    return withRetry(async () => {
      const response = await this.follow(url, `manifest ${image}:${reference}`, {
        accept: OCI_INDEX_MEDIA_TYPE,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const raw = await readBody(response.response, response.url, MAX_MANIFEST_BYTES);
      const contentType = headerOf(response.response, "content-type") ?? null;
      return parseManifest(raw, response.url, contentType);
    }, this.retry);
  }

  /**
   * Streams the blob `sha256:<sha256>` of `image`, following redirects by hand (so Authorization goes
   * only to the registry's own origin). Not retried here: wrap the whole transfer in withRetry.
   */
  async blob(
    image: string,
    sha256: string,
    options: { start?: number; signal?: AbortSignal; onBytes?: (bytes: number) => void } = {},
  ): Promise<BlobResponse> {
    if (!SHA256_HEX.test(sha256)) {
      throw new InvalidUpstreamDataError(`invalid sha256 ${JSON.stringify(sha256)}`, this.base);
    }
    const url = joinUrl(this.base, `${encodePath(image)}/blobs/sha256:${sha256}`);
    const start = options.start ?? 0;
    const { response, url: finalUrl } = await this.follow(url, `blob ${image}@sha256:${sha256}`, {
      accept: "application/octet-stream",
      ...(start > 0 ? { range: `bytes=${start}-` } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onBytes ? { onBytes: options.onBytes } : {}),
    });
    const offset = start > 0 && response.statusCode === 206 ? start : 0;
    const size = contentLength(response);
    // The body errors (retryably, naming the bytes received) if the transfer fails or ends short.
    return { body: response.body, offset, url: finalUrl, ...(size === undefined ? {} : { size }) };
  }

  private async follow(
    startUrl: string,
    what: string,
    options: { accept: string; range?: string; signal?: AbortSignal; onBytes?: (bytes: number) => void },
  ): Promise<{ response: HttpResponse; url: string }> {
    let url = startUrl;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = {
        "user-agent": USER_AGENT,
        accept: options.accept,
        "accept-encoding": "identity",
      };
      if (new URL(url).origin === this.origin) headers.authorization = `Bearer ${this.token}`;
      if (options.range) headers.range = options.range;
      let response: HttpResponse;
      try {
        response = await httpGet(this.dispatcher, url, {
          headers,
          idleTimeoutMs: this.idleTimeoutMs,
          ...(options.signal ? { signal: options.signal } : {}),
          // Only a successful response's body counts (httpGet skips a redirect's or an error page's).
          ...(options.onBytes ? { onBytes: options.onBytes } : {}),
        });
      } catch (error) {
        throw networkError(error, url, `cannot fetch ${what}`);
      }
      const status = response.statusCode;
      if (REDIRECT_STATUSES.has(status)) {
        discard(response);
        const location = headerOf(response, "location");
        if (!location) {
          throw new UpstreamError(`${what}: HTTP ${status} without a Location header from ${url}`, {
            status,
            url,
          });
        }
        if (hop >= this.maxRedirects) {
          throw new UpstreamError(`${what}: more than ${this.maxRedirects} redirects (last ${url})`, {
            status,
            url,
          });
        }
        url = new URL(location, url).toString();
        continue;
      }
      if (status < 200 || status > 299) {
        discard(response);
        throw statusError(response, url, `cannot fetch ${what}`);
      }
      return { response, url };
    }
  }
}

/**
 * The bottle tag of a per-platform ref name `<pkg_version>.<tag>[.<rebuild>]`: tags never contain a
 * dot and are never all digits, versions may contain both.
 */
export function tagFromRefName(refName: string): string | undefined {
  const parts = refName.split(".");
  if (parts.length < 2) return undefined;
  const last = parts[parts.length - 1] as string;
  const tag = /^\d+$/.test(last) ? parts[parts.length - 2] : last;
  return tag !== undefined && BOTTLE_TAG.test(tag) && !/^\d+$/.test(tag) ? tag : undefined;
}

export function parseManifest(raw: Uint8Array, url: string, contentType: string | null): BottleManifest {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(raw).toString("utf8"));
  } catch (error) {
    throw new InvalidUpstreamDataError(`the manifest at ${url} is not valid JSON`, url, { cause: error });
  }
  const manifests = (document as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests)) {
    throw new InvalidUpstreamDataError(
      `the manifest at ${url} has no "manifests" list (not an OCI index)`,
      url,
    );
  }
  const sizes = new Map<string, number>();
  const digests = new Map<string, string>();
  const rejected: BottleManifest["rejected"] = [];
  for (const entry of manifests) {
    const annotations = (entry as { annotations?: Record<string, unknown> } | null)?.annotations;
    if (typeof annotations !== "object" || annotations === null) continue;
    const refName = annotations["org.opencontainers.image.ref.name"];
    const tag = typeof refName === "string" ? tagFromRefName(refName) : undefined;
    if (tag === undefined) {
      rejected.push({ reason: `no bottle tag in ref.name ${JSON.stringify(refName)}` });
      continue;
    }
    const digest = annotations["sh.brew.bottle.digest"];
    const size = annotations["sh.brew.bottle.size"];
    if (typeof digest !== "string" || !SHA256_HEX.test(digest)) {
      rejected.push({ tag, reason: "sh.brew.bottle.digest is not 64 lowercase hex characters" });
      continue;
    }
    digests.set(tag, digest);
    if (size === undefined) continue;
    const bytes = typeof size === "string" && /^\d{1,15}$/.test(size) ? Number(size) : Number.NaN;
    if (!Number.isSafeInteger(bytes) || bytes > MAX_BOTTLE_SIZE) {
      rejected.push({ tag, reason: `absurd sh.brew.bottle.size ${JSON.stringify(size).slice(0, 40)}` });
      continue;
    }
    sizes.set(tag, bytes);
  }
  const declared = (document as { mediaType?: unknown }).mediaType;
  const mediaType =
    typeof declared === "string" ? declared : (contentType?.split(";")[0]?.trim() ?? OCI_INDEX_MEDIA_TYPE);
  return { sizes, digests, raw, mediaType, rejected };
}

/** `openssl/3` → each segment percent-encoded, slashes kept. */
function encodePath(image: string): string {
  return image.split("/").map(encodeURIComponent).join("/");
}
