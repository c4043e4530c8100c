import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { BlobStore } from "../storage/blob-store.ts";
import { InvalidKeyError } from "../storage/errors.ts";
import { isValidKey } from "../storage/keys.ts";
import { installFastPath } from "./serve-fast.ts";
import { contentTypeOf, type Kept, keptBody, openServed, type Served, SmallBodies } from "./serve-files.ts";

/**
 * A local mirror over HTTP with brew's URL shapes (DESIGN.md §1):
 * `<base>/bottles/<urlencoded filename>` (decoded to the literal store key), `<base>/bottles/<image>/
 * manifests/<ref>`, `<base>/api/…`, `<base>/git/brew.git/…` (mirror.brew_git), `<base>/v2/homebrew/core/
 * <image>/blobs/sha256:<sha>` and `…/manifests/<ref>` (mirror.layouts: oci). GET and HEAD;
 * Content-Length, Last-Modified, ETag; If-None-Match and If-Modified-Since (a date in the future is
 * ignored, RFC 9110 §13.1.3); one Range per request (206/416), honoured only while an If-Range still
 * matches (else the whole body, §13.1.5). Only `bottles/`, `api/`, `git/` and `v2/` are served; a request whose
 * decoded segments would climb out of them (`..`, an encoded `/`, NUL) is refused with 400, and a key
 * that resolves outside the store (a symlink in the tree) gets a bare 404, the reason going only to
 * `onError` (the server's log).
 *
 * On a folder each request makes one containment check and reads from the open descriptor, a large
 * body streamed in 1 MiB reads; small bodies are kept in memory while their file stays the same
 * (src/mirror/serve-files.ts). A plain GET or HEAD of a kept body (no Range, no validators) is answered
 * synchronously in the request handler: the path's key from a memo, one stat, one write.
 */
export interface ServeOptions {
  store: BlobStore;
  host?: string;
  port?: number;
  /** Called once per request (for logs). */
  onRequest?: (line: { method: string; path: string; status: number }) => void;
  /**
   * Called with what a client is not told: a key resolving outside the store (answered 404), a failure
   * while answering (500, or a cut connection once the body has started). For the server's log.
   */
  onError?: (line: { method: string; path: string; status: number; error: unknown }) => void;
  /**
   * Tried for paths outside the mirror's roots (bottles/, api/, git/, v2/: the CLI mounts the status
   * page at / here); resolves true when it answered the request. Keeps src/mirror free of presentation
   * code.
   */
  routes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** The clock that tells a future If-Modified-Since date (tests pin it). */
  now?: () => Date;
  /**
   * Answer plain GETs of kept small bodies on the connection itself (src/mirror/serve-fast.ts); false:
   * node:http answers every request. Default true; only on stores with `localIdentity` (fs).
   */
  fastPath?: boolean;
}

export interface MirrorServer {
  /** `http://127.0.0.1:port` */
  url: string;
  /** HOMEBREW_BOTTLE_DOMAIN */
  bottleDomain: string;
  /** HOMEBREW_API_DOMAIN */
  apiDomain: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * `git/` is brew's own repository for git's dumb HTTP protocol (mirror.brew_git: `<base>/git/brew.git`);
 * `v2/` the OCI layout (mirror.layouts: oci) that HOMEBREW_ARTIFACT_DOMAIN=<base> reads.
 */
const SERVED_ROOTS = new Set(["bottles", "api", "git", "v2"]);
/** Request paths → their keys (null: not a key), remembered up to this many, then forgotten at once. */
const KEYS_REMEMBERED = 16_384;

export async function startServe(options: ServeOptions): Promise<MirrorServer> {
  const small = new SmallBodies();
  const keys = new Map<string, string | null>();
  const keyOf = (path: string): string | null => {
    let key = keys.get(path);
    if (key === undefined) {
      key = keyOfPath(path);
      if (keys.size >= KEYS_REMEMBERED) keys.clear();
      keys.set(path, key);
    }
    return key;
  };
  const state: ServerState = { options, small, keyOf };
  const server = createServer((req, res) => {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    if (options.onRequest)
      res.on("finish", () => options.onRequest?.({ method, path, status: res.statusCode }));
    const exchange = { req, res, method, path };
    if (answerKept(state, exchange)) return;
    handle(state, exchange).catch((error: unknown) => {
      options.onError?.({ method, path, status: 500, error });
      if (!res.headersSent) send(res, 500, "internal error\n");
      else res.destroy();
    });
  });
  const fast =
    options.fastPath !== false && options.store.localIdentity !== undefined
      ? installFastPath(server, {
          kept: (target) => keptFor(state, target),
          load: async (target) => {
            const key = keyOf(target);
            if (key === null) return false;
            try {
              const served = await openServed(options.store, key, small);
              served?.discard();
              // The same check `kept` makes: a body read short, or replaced since, is not kept.
              return keptFor(state, target) !== undefined;
            } catch {
              return false; // node:http meets the same error, and answers and logs it
            }
          },
          ...(options.onRequest ? { onRequest: options.onRequest } : {}),
        })
      : new Set<Socket>();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  return {
    url,
    bottleDomain: `${url}/bottles`,
    apiDomain: `${url}/api`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const socket of fast) socket.destroy();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The store key a request path names, or null when it is not a servable key. */
export function keyOfPath(rawPath: string): string | null {
  const path = rawPath.split("?")[0] ?? "";
  if (!path.startsWith("/")) return null;
  const segments: string[] = [];
  for (const raw of path.slice(1).split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment === "" || segment === "." || segment === ".." || segment.includes("/")) return null;
    segments.push(segment);
  }
  if (segments.length < 2 || !SERVED_ROOTS.has(segments[0] as string)) return null;
  const key = segments.join("/");
  return isValidKey(key) ? key : null;
}

/** What every request of one server shares. */
interface ServerState {
  options: ServeOptions;
  small: SmallBodies;
  /** A request path's store key (null: not a key), memoised. */
  keyOf: (path: string) => string | null;
}

/** One request and its response, with the method and path read once. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
}

/**
 * The kept body a request path names, while its file is unchanged; undefined otherwise, also when the
 * check fails (the full path meets the same error and answers it).
 */
function keptFor(server: ServerState, path: string): Kept | undefined {
  const key = server.keyOf(path);
  if (key === null) return undefined;
  try {
    return keptBody(server.options.store, key, server.small);
  } catch {
    return undefined;
  }
}

/**
 * node:http's short cut (the connection-level fast path aside, or off): a plain GET or HEAD (no Range,
 * no validators) of a body kept in memory whose file is unchanged, answered synchronously; false for
 * everything else, which goes to `handle`.
 */
function answerKept(server: ServerState, { req, res, method, path }: Exchange): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  const headers = req.headers;
  if (
    headers.range !== undefined ||
    headers["if-none-match"] !== undefined ||
    headers["if-modified-since"] !== undefined
  )
    return false;
  const kept = keptFor(server, path);
  if (kept === undefined) return false;
  res.writeHead(200, kept.plainHeaders);
  if (method === "HEAD") res.end();
  else res.end(kept.body);
  return true;
}

async function handle(server: ServerState, { req, res, method, path }: Exchange): Promise<void> {
  const { options, small, keyOf } = server;
  const root = path.split("/")[1]?.split("?")[0] ?? "";
  if (!SERVED_ROOTS.has(root) && options.routes && (await options.routes(req, res))) return;
  if (method !== "GET" && method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "method not allowed\n");
  }
  const key = keyOf(path);
  if (key === null) {
    return SERVED_ROOTS.has(root) ? send(res, 400, "bad path\n") : send(res, 404, "not found\n");
  }
  let object: Served | null;
  try {
    object = await openServed(options.store, key, small);
  } catch (error) {
    if (!(error instanceof InvalidKeyError)) throw error;
    // A symlink in the tree pointing out of it: the client learns nothing about the server's paths.
    options.onError?.({ method, path, status: 404, error });
    return send(res, 404, "not found\n");
  }
  if (object === null) return send(res, 404, "not found\n");
  try {
    await answer(options, req, res, method, key, object);
  } catch (error) {
    object.discard();
    throw error;
  }
}

async function answer(
  options: ServeOptions,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  key: string,
  object: Served,
): Promise<void> {
  const { etag } = object;
  const headers: Record<string, string> = {
    "last-modified": object.modified.toUTCString(),
    "accept-ranges": "bytes",
    "content-type": contentTypeOf(key),
    ...(etag === undefined ? {} : { etag }),
  };
  if (notModified(req, object.modified, etag, options.now?.() ?? new Date())) {
    object.discard();
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const ifRange = req.headers["if-range"];
  const range = ifRangeHolds(Array.isArray(ifRange) ? ifRange[0] : ifRange, object.modified, etag)
    ? parseRange(req.headers.range, object.size)
    : null;
  if (range === "unsatisfiable") {
    object.discard();
    res.setHeader("content-range", `bytes */${object.size}`);
    return send(res, 416, "range not satisfiable\n");
  }
  if (range === null) {
    headers["content-length"] = String(object.size);
    res.writeHead(200, headers);
  } else {
    headers["content-range"] = `bytes ${range.start}-${range.end}/${object.size}`;
    headers["content-length"] = String(range.end - range.start + 1);
    res.writeHead(206, headers);
  }
  if (method === "HEAD" || object.size === 0) {
    object.discard();
    res.end();
    return;
  }
  await object.send(res, range);
}

/**
 * RFC 9110 §13.2.2: If-None-Match decides when present (weak comparison); otherwise If-Modified-Since,
 * unless its date is not a valid date or lies in the future (§13.1.3: such a date is ignored).
 */
export function notModified(
  req: IncomingMessage,
  modified: Date,
  etag: string | undefined,
  now: Date,
): boolean {
  const ifNoneMatch = req.headers["if-none-match"];
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === "*") return true;
    if (etag === undefined) return false;
    const ours = etag.replace(/^W\//, "");
    return ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === ours);
  }
  const since = Date.parse(req.headers["if-modified-since"] ?? "");
  if (!Number.isFinite(since) || since > now.getTime()) return false;
  return modified.getTime() <= since;
}

/**
 * RFC 9110 §13.1.5: a Range counts only while If-Range (when sent) names the current representation —
 * its entity tag (strong comparison) or exactly its Last-Modified date; otherwise the whole body.
 */
export function ifRangeHolds(header: string | undefined, modified: Date, etag: string | undefined): boolean {
  if (header === undefined) return true;
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith("W/")) return etag !== undefined && value === etag;
  const date = Date.parse(value);
  return Number.isFinite(date) && date === modified.getTime();
}

/**
 * One `bytes=` range (RFC 9110 §14.1.2) → inclusive start/end; null to serve the whole object (no Range,
 * a multi-range or malformed header); "unsatisfiable" when it starts past the end.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | "unsatisfiable" {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return null;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return "unsatisfiable";
    // An empty object has no last byte to count back from: serve it whole (RFC 9110 §14.1.2).
    if (size === 0) return null;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return null;
  return { start, end };
}

function send(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.setHeader("content-length", String(Buffer.byteLength(text)));
  res.end(text);
}
