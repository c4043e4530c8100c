/**
 * The connection-level fast path of `hbsync serve`: plain GETs and HEADs of small bodies kept in memory,
 * answered from the socket's bytes without node:http's parser and response objects, which cost more
 * than the rest of such a request (bench/README.md, "hbsync serve": node:http alone reaches 0.4 × nginx's
 * requests/s here, this path 0.5 ×).
 *
 * It is deliberately narrow, and hands everything else to node:http: every connection starts here, and
 * the first request it does not answer itself — not complete in the bytes read so far, not strictly
 * `GET|HEAD <origin-form> HTTP/1.1` with CRLF line ends, a header outside a short list (Range,
 * conditionals, Connection, Content-Length, Transfer-Encoding, Expect, Upgrade, … all go to node:http),
 * no single Host, or a key that is not a small file (a 404, a large file, a refused symlink; a small
 * file not yet in memory is read first, the connection paused meanwhile) — moves the connection,
 * that request's bytes and all after it, to node:http for the rest of its life. So node:http's parser
 * (llhttp) decides every request this path does not fully understand, and its timeouts (headers,
 * request, keep-alive) and limits (header size) apply to everything but the complete, simple requests
 * answered here. An idle connection here is closed after node's keep-alive timeout (5 s), as node:http
 * would; responses wait for the socket to drain before more requests are read.
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { Kept } from "./serve-files.ts";

/** A complete request head this path answers itself. */
export interface SimpleRequest {
  method: "GET" | "HEAD";
  /** The request target as sent (origin-form: `/path?query`). */
  target: string;
}

export interface FastPathOptions {
  /** The kept body for a request target, or undefined. */
  kept(target: string): Kept | undefined;
  /**
   * Reads the target's body into memory when it is a small file; resolves true when `kept` now has it,
   * false to hand the request to node:http (absent, large, refused, failed: node:http answers those).
   */
  load(target: string): Promise<boolean>;
  onRequest?: (line: { method: string; path: string; status: number }) => void;
  /** How long a connection may idle between requests here (default node:http's 5 s; tests shorten it). */
  idleMs?: number;
}

/** Header names a simple request may carry (lower case); any other sends it to node:http. */
const HARMLESS_HEADERS = new Set([
  "host",
  "user-agent",
  "accept",
  "accept-encoding",
  "accept-language",
  "cache-control",
  "pragma",
  "referer",
  "sec-fetch-mode",
]);
/** A request head longer than this goes to node:http, which answers 431 past its own limit. */
const MAX_HEAD = 8 * 1024;
/** node:http's default keepAliveTimeout. */
const KEEP_ALIVE_MS = 5_000;
const KEEP_ALIVE_HEADERS = "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n";
const CRLFCRLF = Buffer.from("\r\n\r\n");

/**
 * Takes over `server`'s connections: each starts in the fast path, and is handed to the server's own
 * connection handling (node:http) at the first request the fast path does not answer. Returns the set of
 * connections still in the fast path (closed with the server by the caller).
 */
export function installFastPath(server: Server, options: FastPathOptions): Set<Socket> {
  const httpListeners = server.listeners("connection") as Array<(socket: Socket) => void>;
  server.removeAllListeners("connection");
  const open = new Set<Socket>();
  const handOver = (socket: Socket): void => {
    open.delete(socket);
    for (const listener of httpListeners) listener.call(server, socket);
  };
  server.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    fastConnection(socket, options, handOver);
  });
  return open;
}

function fastConnection(socket: Socket, options: FastPathOptions, handOver: (socket: Socket) => void): void {
  let pending: Buffer | null = null;
  /** Reading is paused: until the socket drains, or while a body is read from its file. */
  let held: "drain" | "load" | null = null;
  const onError = (): void => {
    socket.destroy(); // a reset client: nothing to answer
  };
  const onTimeout = (): void => {
    socket.destroy();
  };
  const onClose = (): void => release();
  /** The client sent its last request (FIN): answer what is complete, then close our side. */
  let ended = false;
  const onEnd = (): void => {
    ended = true;
    if (held === null) pump();
  };
  const release = (): void => {
    for (const [event, listener] of listeners()) socket.off(event, listener);
    socket.setTimeout(0);
  };
  const toHttp = (rest: Buffer): void => {
    release();
    socket.pause();
    if (rest.byteLength > 0) socket.unshift(rest);
    handOver(socket);
    socket.resume(); // node:http reads what was unshifted first, then the socket
  };
  const hold = (reason: "drain" | "load", rest: Buffer): void => {
    pending = pending === null ? rest : Buffer.concat([rest, pending]);
    held = reason;
    socket.pause();
  };
  const resume = (): void => {
    held = null;
    socket.resume();
    pump();
  };
  const pump = (): void => {
    if (socket.destroyed) return;
    const data = pending ?? Buffer.alloc(0);
    pending = null;
    let start = 0;
    // Pipelined requests: their answers go out in one writev. One request: one plain write.
    let corked = false;
    try {
      while (start < data.byteLength) {
        const end = data.indexOf(CRLFCRLF, start);
        if (ended && end < 0) break; // a request cut off by the client's close: nothing to answer
        if (end < 0 || end - start > MAX_HEAD) return toHttp(data.subarray(start));
        const request = parseSimpleRequest(data.toString("latin1", start, end));
        if (request === null) return toHttp(data.subarray(start));
        const kept = options.kept(request.target);
        if (kept === undefined) {
          // Not in memory yet: read it (or learn it is not small), then go on from this request.
          hold("load", data.subarray(start));
          options.load(request.target).then(
            (loaded) => {
              if (socket.destroyed) return;
              if (loaded) return resume();
              const rest = pending ?? Buffer.alloc(0);
              pending = null;
              held = null;
              toHttp(rest);
            },
            () => socket.destroy(),
          );
          return;
        }
        start = end + 4;
        if (!corked && start < data.byteLength) {
          socket.cork();
          corked = true;
        }
        const wire = wireOf(kept);
        const flowing = socket.write(
          request.method === "HEAD" ? wire.response.subarray(0, wire.headLength) : wire.response,
        );
        options.onRequest?.({ method: request.method, path: request.target, status: 200 });
        if (!flowing && start < data.byteLength) {
          // The client reads slower than it asks: hold the rest until the socket drains.
          return hold("drain", data.subarray(start));
        }
      }
      if (ended) socket.end();
    } finally {
      if (corked) socket.uncork();
    }
  };
  const onData = (chunk: Buffer): void => {
    pending = pending === null ? chunk : Buffer.concat([pending, chunk]);
    if (held === null) pump();
  };
  const onDrain = (): void => {
    if (held === "drain") resume();
  };
  /** What the fast path listens to, all removed at the hand-over ('data' last: it starts the flow). */
  const listeners = (): Array<[string, (chunk: Buffer) => void]> => [
    ["timeout", onTimeout],
    ["error", onError],
    ["close", onClose],
    ["drain", onDrain],
    ["end", onEnd],
    ["data", onData],
  ];
  socket.setNoDelay(true);
  socket.setTimeout(options.idleMs ?? KEEP_ALIVE_MS);
  for (const [event, listener] of listeners()) socket.on(event, listener);
}

/**
 * `GET|HEAD <target> HTTP/1.1`, then `name: value` lines, CRLF only, every name in HARMLESS_HEADERS
 * (or `Connection: keep-alive`) and exactly one Host; null for anything else (node:http then decides). `head` is the request head
 * without its final CRLF CRLF, as latin1.
 */
export function parseSimpleRequest(head: string): SimpleRequest | null {
  let lineEnd = head.indexOf("\r\n");
  if (lineEnd < 0) lineEnd = head.length;
  const method = head.startsWith("GET ") ? "GET" : head.startsWith("HEAD ") ? "HEAD" : null;
  if (method === null) return null;
  const targetStart = method.length + 1;
  const targetEnd = lineEnd - " HTTP/1.1".length;
  if (targetEnd <= targetStart || head.slice(targetEnd, lineEnd) !== " HTTP/1.1") return null;
  if (head.charCodeAt(targetStart) !== 0x2f) return null; // origin-form only: `/…`
  for (let i = targetStart; i < targetEnd; i++) {
    const c = head.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return null;
  }
  let hosts = 0;
  let at = lineEnd;
  while (at < head.length) {
    // Each header line starts after a CRLF; `at` points at that CRLF.
    if (head.charCodeAt(at) !== 0x0d || head.charCodeAt(at + 1) !== 0x0a) return null;
    const start = at + 2;
    let end = head.indexOf("\r\n", start);
    if (end < 0) end = head.length;
    const colon = head.indexOf(":", start);
    if (colon <= start || colon > end) return null;
    for (let i = start; i < colon; i++) if (!isTokenChar(head.charCodeAt(i))) return null;
    for (let i = colon + 1; i < end; i++) {
      const c = head.charCodeAt(i);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) return null;
    }
    const name = head.slice(start, colon).toLowerCase();
    if (name === "connection") {
      // HTTP/1.1's default, sent by undici and others; any other token (close, upgrade, …): node:http.
      if (
        head
          .slice(colon + 1, end)
          .trim()
          .toLowerCase() !== "keep-alive"
      )
        return null;
    } else if (!HARMLESS_HEADERS.has(name)) return null;
    if (name === "host") hosts++;
    at = end;
  }
  if (hosts !== 1) return null;
  return { method, target: head.slice(targetStart, targetEnd) };
}

/** RFC 9110 §5.6.2 tchar. */
function isTokenChar(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
}

/**
 * A kept body's whole 200 answer, head and body in one buffer: one write per request, no header
 * formatting, no string encoding. The kept body becomes a view into it (node:http's path sends that
 * view), so the bytes are held once. The Date line is rewritten in place when the second changes: an
 * answer still queued on a slow socket may then carry the newer second, a harmless difference.
 */
interface Wire {
  response: Buffer;
  headLength: number;
  /** Where the Date value starts in `response`, and the second it holds. */
  dateAt: number;
  second: number;
}

const wires = new WeakMap<Kept, Wire>();
/** What toUTCString() gives, always 29 characters (years 1000–9999). */
const DATE_LENGTH = "Thu, 01 Jan 1970 00:00:00 GMT".length;

function wireOf(kept: Kept): Wire {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  let wire = wires.get(kept);
  if (wire === undefined) {
    let head = "HTTP/1.1 200 OK\r\n";
    for (let i = 0; i < kept.plainHeaders.length; i += 2) {
      head += `${kept.plainHeaders[i]}: ${kept.plainHeaders[i + 1]}\r\n`;
    }
    const dateAt = Buffer.byteLength(head, "latin1") + "Date: ".length;
    head += `Date: ${" ".repeat(DATE_LENGTH)}\r\n${KEEP_ALIVE_HEADERS}`;
    const headLength = Buffer.byteLength(head, "latin1");
    const response = Buffer.allocUnsafe(headLength + kept.body.byteLength);
    response.write(head, 0, "latin1");
    kept.body.copy(response, headLength);
    kept.body = response.subarray(headLength);
    wire = { response, headLength, dateAt, second: -1 };
    wires.set(kept, wire);
  }
  if (wire.second !== second) {
    // Fixed width until the year 10000; padded or cut there rather than shifting the head.
    const date = new Date(now).toUTCString().padEnd(DATE_LENGTH).slice(0, DATE_LENGTH);
    wire.response.write(date, wire.dateAt, "latin1");
    wire.second = second;
  }
  return wire;
}
