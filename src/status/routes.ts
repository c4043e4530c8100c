import type { IncomingMessage, ServerResponse } from "node:http";
import type { PipelineConfig } from "../config/types.ts";
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
}

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
 * caller serves it (bottles, API). The model is collected fresh on every page or JSON request.
 */
export function statusRoutes(
  options: StatusRouteOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return (req, res) => handleStatusRequest(req, res, options);
}

export async function handleStatusRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: StatusRouteOptions,
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
  let model: StatusModel;
  try {
    model = await collectStatus({
      store: options.store,
      now: (options.now ?? (() => new Date()))(),
      ...(options.ledger ? { ledger: options.ledger } : {}),
      ...(options.config ? { config: options.config } : {}),
      ...(options.environments ? { environments: options.environments } : {}),
      ...(options.staleAfterSeconds === undefined ? {} : { staleAfterSeconds: options.staleAfterSeconds }),
    });
  } catch (error) {
    const message = `the status could not be collected from ${options.store.location}: ${errorMessage(error)}`;
    if (path === "/status.json") {
      send(res, method, 503, "application/json; charset=utf-8", `${JSON.stringify({ error: message })}\n`);
    } else send(res, method, 503, "text/plain; charset=utf-8", `${message}\n`);
    return true;
  }
  res.setHeader("cache-control", "no-store");
  if (path === "/status.json") {
    send(res, method, 200, "application/json; charset=utf-8", statusJson(model));
  } else {
    res.setHeader("content-security-policy", STATUS_CSP);
    send(res, method, 200, "text/html; charset=utf-8", renderStatusPage(model));
  }
  return true;
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
