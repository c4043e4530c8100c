import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for a Slack incoming webhook: listens on 127.0.0.1 (port 0), records every request,
 * answers 200 "ok" like Slack — or, for the first `failFirst` requests, `failStatus` (429 with
 * Retry-After, or a 5xx).
 */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface WebhookReceiverOptions {
  failFirst?: number;
  failStatus?: number;
  /** Sent as Retry-After on failures (seconds, or an HTTP date). */
  retryAfter?: string | number;
  /** Body of a failure response (Slack sends e.g. "rate_limited"). */
  failBody?: string;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** A webhook URL on this receiver with a Slack-shaped secret path. */
  webhookUrl: string;
  /** The secret path part of webhookUrl (what must never be logged). */
  secretPath: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

export const SECRET_WEBHOOK_PATH = "/services/T0HBSYNC01/B0HBSYNC02/s3cr3tW3bh00kT0k3nXYZ123";

export async function startWebhookReceiver(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      requests.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body,
        json,
      });
      if (requests.length <= (options.failFirst ?? 0)) {
        const status = options.failStatus ?? 500;
        const headers: Record<string, string> = { "content-type": "text/plain" };
        if (options.retryAfter !== undefined) headers["retry-after"] = String(options.retryAfter);
        response.writeHead(status, headers);
        response.end(options.failBody ?? (status === 429 ? "rate_limited" : "internal_error"));
        return;
      }
      response.writeHead(200, { "content-type": "text/html" });
      response.end("ok");
    });
  });
  const origin = await listen(server);
  return {
    origin,
    webhookUrl: `${origin}${SECRET_WEBHOOK_PATH}`,
    secretPath: SECRET_WEBHOOK_PATH,
    requests,
    close: () => closeServer(server),
  };
}

/** A URL on 127.0.0.1 where nothing listens: a port that was just bound and released. */
export async function deadEndpointUrl(path = SECRET_WEBHOOK_PATH): Promise<string> {
  const server = createServer();
  const origin = await listen(server);
  await closeServer(server);
  return `${origin}${path}`;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}
