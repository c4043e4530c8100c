import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream/promises";
import type { BlobStore } from "../storage/blob-store.ts";
import { isValidKey } from "../storage/keys.ts";

/**
 * A local mirror over HTTP with brew's URL shapes (DESIGN.md §1):
 * `<base>/bottles/<urlencoded filename>` (decoded to the literal store key), `<base>/bottles/<image>/
 * manifests/<ref>`, `<base>/api/…`, `<base>/git/brew.git/…` (mirror.brew_git). GET and HEAD; Content-Length, Last-Modified (and If-Modified-Since),
 * single Range requests (206/416). Only `bottles/`, `api/` and `git/` are served; a request whose decoded
 * segments would climb out of them (`..`, an encoded `/`, NUL) is refused with 400.
 */
export interface ServeOptions {
  store: BlobStore;
  host?: string;
  port?: number;
  /** Called once per request (for logs). */
  onRequest?: (line: { method: string; path: string; status: number }) => void;
  /**
   * Tried before the mirror's own routes (the CLI mounts the status page here); resolves true when it
   * answered the request. Keeps src/mirror free of presentation code.
   */
  routes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
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

/** `git/` is brew's own repository for git's dumb HTTP protocol (mirror.brew_git: `<base>/git/brew.git`). */
const SERVED_ROOTS = new Set(["bottles", "api", "git"]);

export async function startServe(options: ServeOptions): Promise<MirrorServer> {
  const server = createServer((req, res) => {
    handle(options, req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, `internal error: ${String(error)}\n`);
      else res.destroy();
    });
  });
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

async function handle(options: ServeOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "GET";
  const path = req.url ?? "/";
  res.on("finish", () => options.onRequest?.({ method, path, status: res.statusCode }));
  if (options.routes && (await options.routes(req, res))) return;
  if (method !== "GET" && method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "method not allowed\n");
  }
  const key = keyOfPath(path);
  if (key === null) {
    const root = path.split("/")[1] ?? "";
    return SERVED_ROOTS.has(root) ? send(res, 400, "bad path\n") : send(res, 404, "not found\n");
  }
  const stat = await options.store.stat(key);
  if (stat === null) return send(res, 404, "not found\n");

  const lastModified = new Date(Math.floor(stat.modified.getTime() / 1000) * 1000);
  res.setHeader("last-modified", lastModified.toUTCString());
  res.setHeader("accept-ranges", "bytes");
  res.setHeader("content-type", contentTypeOf(key));
  if (stat.etag) res.setHeader("etag", JSON.stringify(stat.etag.replaceAll('"', "")));
  const since = Date.parse(req.headers["if-modified-since"] ?? "");
  if (Number.isFinite(since) && lastModified.getTime() <= since && req.headers.range === undefined) {
    res.statusCode = 304;
    res.end();
    return;
  }

  const range = parseRange(req.headers.range, stat.size);
  if (range === "unsatisfiable") {
    res.setHeader("content-range", `bytes */${stat.size}`);
    return send(res, 416, "range not satisfiable\n");
  }
  if (range === null) {
    res.statusCode = 200;
    res.setHeader("content-length", String(stat.size));
  } else {
    res.statusCode = 206;
    res.setHeader("content-range", `bytes ${range.start}-${range.end}/${stat.size}`);
    res.setHeader("content-length", String(range.end - range.start + 1));
  }
  if (method === "HEAD" || stat.size === 0) {
    res.end();
    return;
  }
  const body = await options.store.get(key, range ?? undefined);
  await pipeline(body, res);
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

function contentTypeOf(key: string): string {
  if (key.endsWith(".tar.gz")) return "application/gzip";
  if (key.endsWith(".json")) return "application/json";
  if (key.includes("/manifests/")) return "application/vnd.oci.image.index.v1+json";
  if (key.startsWith("git/")) {
    if (key.endsWith(".pack")) return "application/x-git-packed-objects";
    if (key.endsWith(".idx")) return "application/x-git-packed-objects-toc";
    // info/refs, HEAD, objects/info/packs: plain text, which tells git this is a dumb server.
    return "text/plain; charset=utf-8";
  }
  return "application/octet-stream";
}

function send(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.setHeader("content-length", String(Buffer.byteLength(text)));
  res.end(text);
}
