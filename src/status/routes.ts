import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PipelineConfig } from "../config/types.ts";
import { STATE_KEY } from "../mirror/state.ts";
import { errorMessage } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import type { StatusLedger } from "./ledger-source.ts";
import { collectStatus } from "./model.ts";
import { renderStatusPage } from "./render.ts";
import { STATUS_CSS } from "./status-css.ts";
import type { StatusModel } from "./types.ts";

export interface StatusRouteOptions {
  store: BlobStore;
  ledger?: StatusLedger;
  config?: PipelineConfig;
  environments?: string[];
  staleAfterSeconds?: number;
  /** The clock (tests pin it). */
  now?: () => Date;
  /**
   * How long a collected model is reused while `_sync/state.json` keeps its etag (default 5,000 ms;
   * 0 collects on every request). Requests arriving while a model is being collected share it.
   */
  cacheMs?: number;
}

/** A collected model and what is served from it, made once per collection. */
interface Collected {
  /** `_sync/state.json`'s etag (or size and mtime) when collected; null when absent. */
  stateTag: string | null;
  at: number;
  model: StatusModel;
  json: string;
  /** The ETag of /status.json (a digest of its body). */
  jsonEtag: string;
  html?: string;
}

const DEFAULT_CACHE_MS = 5_000;

/** The paths the status routes answer; everything else is left to the caller. */
export const STATUS_PATHS = ["/", "/index.html", "/status.json", "/status.css"] as const;

/**
 * A strict policy: no script of any kind, styles only from the stylesheet. The page needs nothing else
 * (its charts are inline SVG drawn with presentation attributes).
 */
export const STATUS_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * A request handler for `hbsync serve`: answers `/`, `/index.html`, `/status.json` and `/status.css`
 * (GET and HEAD; other methods get 405) and resolves true; resolves false for any other path, so the
 * caller serves it (bottles, API). The model is collected from the store at most once per `cacheMs`
 * while the state's etag stays the same (a sync that writes the state shows at once); concurrent
 * requests share one collection. `/status.json` carries an ETag and answers If-None-Match with 304.
 */
export function statusRoutes(
  options: StatusRouteOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const collector = statusCollector(options);
  return (req, res) => handleStatusRequest(req, res, options, collector);
}

/** Collects the model, reusing the last one while it is young and the state has not changed. */
function statusCollector(options: StatusRouteOptions): () => Promise<Collected> {
  const cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
  let last: Collected | undefined;
  let pending: Promise<Collected> | undefined;
  const collect = async (stateTag: string | null): Promise<Collected> => {
    const model = await collectStatus({
      store: options.store,
      now: (options.now ?? (() => new Date()))(),
      ...(options.ledger ? { ledger: options.ledger } : {}),
      ...(options.config ? { config: options.config } : {}),
      ...(options.environments ? { environments: options.environments } : {}),
      ...(options.staleAfterSeconds === undefined ? {} : { staleAfterSeconds: options.staleAfterSeconds }),
    });
    const json = statusJson(model);
    const digest = createHash("sha256").update(json).digest("base64url").slice(0, 22);
    return { stateTag, at: Date.now(), model, json, jsonEtag: `"${digest}"` };
  };
  return async () => {
    const state = await options.store.stat(STATE_KEY);
    const stateTag = state === null ? null : (state.etag ?? `${state.size}-${state.modified.getTime()}`);
    if (last && last.stateTag === stateTag && Date.now() - last.at < cacheMs) return last;
    pending ??= collect(stateTag).finally(() => {
      pending = undefined;
    });
    last = await pending;
    return last;
  };
}

export async function handleStatusRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: StatusRouteOptions,
  collector: () => Promise<Collected> = statusCollector({ ...options, cacheMs: 0 }),
): Promise<boolean> {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  if (!(STATUS_PATHS as readonly string[]).includes(path)) return false;
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    send(res, method, 405, "text/plain; charset=utf-8", "method not allowed\n");
    return true;
  }
  if (path === "/status.css") {
    res.setHeader("cache-control", "public, max-age=300");
    send(res, method, 200, "text/css; charset=utf-8", STATUS_CSS);
    return true;
  }
  let collected: Collected;
  try {
    collected = await collector();
  } catch (error) {
    const message = `the status could not be collected from ${options.store.location}: ${errorMessage(error)}`;
    if (path === "/status.json") {
      send(res, method, 503, "application/json; charset=utf-8", `${JSON.stringify({ error: message })}\n`);
    } else send(res, method, 503, "text/plain; charset=utf-8", `${message}\n`);
    return true;
  }
  if (path === "/status.json") {
    // Monitors poll this: revalidate every time, and get 304 while nothing changed.
    res.setHeader("cache-control", "no-cache");
    res.setHeader("etag", collected.jsonEtag);
    if (matches(req.headers["if-none-match"], collected.jsonEtag)) {
      res.statusCode = 304;
      res.end();
      return true;
    }
    send(res, method, 200, "application/json; charset=utf-8", collected.json);
  } else {
    res.setHeader("cache-control", "no-store");
    res.setHeader("content-security-policy", STATUS_CSP);
    collected.html ??= renderStatusPage(collected.model);
    send(res, method, 200, "text/html; charset=utf-8", collected.html);
  }
  return true;
}

/** If-None-Match against one entity tag (weak comparison, RFC 9110 §13.1.2). */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

/** `/status.json`: the model, pretty-printed, with a trailing newline. */
export function statusJson(model: StatusModel): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}

function send(res: ServerResponse, method: string, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader("content-type", type);
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("content-length", String(Buffer.byteLength(body)));
  res.end(method === "HEAD" ? undefined : body);
}
