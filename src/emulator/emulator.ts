import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { HOMEBREW_KID } from "../homebrew/jws.ts";
import { blobStream } from "./blob-source.ts";
import { Catalog, type CatalogOptions, type EmulatorIndex } from "./catalog.ts";
import { type EmulatorHost, type Fault, type FaultCapability, FaultInjector } from "./faults.ts";
import { OCI_INDEX } from "./oci.ts";
import { type BodySource, sendBody, sendError, tamperSignature } from "./respond.ts";

/**
 * A local upstream for demos, tests and benchmarks (node:http, no framework):
 * - `<api>/…` — the Homebrew JSON API, signed with the emulator's own key (`publicKeyPem`);
 * - `<registry>/<image>/manifests/<ref>` and `/blobs/sha256:<d>` — GHCR's shapes, requiring
 *   `Authorization: Bearer QQ==`; blobs answer 307 to a second server, `blobHost`, which serves the
 *   bytes (Content-Length, Range) and REJECTS any Authorization header with 400;
 * - faults on demand (`faults.inject`), request counters (`stats`).
 */
export interface EmulatorOptions extends CatalogOptions {
  /** Listen address of both servers (default 127.0.0.1). */
  host?: string;
  /** API + registry port (default 0: any free port). */
  port?: number;
  /** Blob host port (default 0). */
  blobPort?: number;
  /** Signing key (PEM or KeyObject); default a fresh RSA key generated at startup. */
  privateKey?: KeyObject | string;
  /** The kid of the signature (default `homebrew-1`, what brew looks for). */
  kid?: string;
  /** Size of the generated key (default 2048; Homebrew's is 4096). */
  modulusLength?: number;
  /** Last-Modified of the API files (default: startup time). */
  lastModified?: Date;
}

export interface EmulatorStats {
  /** Requests per path (both hosts; the blob host's paths start with `/blobs/`). */
  requests: Map<string, number>;
  apiRequests: number;
  manifestRequests: number;
  /** Blob requests on the registry (each answered with a redirect). */
  blobRequests: number;
  /** Requests that reached the blob host. */
  blobHostRequests: number;
  /** Bottle bytes written by the blob host. */
  bytesServed: number;
}

export interface Emulator {
  /** Base URL of the API (HOMEBREW_API_DOMAIN shape): `http://127.0.0.1:port/api`. */
  api: string;
  /** Base URL of the registry: `http://127.0.0.1:port/v2/homebrew/core`. */
  registry: string;
  /** Base URL of the second host the blobs redirect to. */
  blobHost: string;
  stats: EmulatorStats;
  faults: FaultInjector;
  publicKeyPem: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
  kid: string;
  /** What is served right now. */
  readonly index: EmulatorIndex;
  lastModified: Date;
  /** Publishes a new revision of a formula (new bottles and sha256s, re-signed index). */
  bump(name: string): Promise<EmulatorIndex>;
  /**
   * Serves `bytes` as a blob of `image` (e.g. `portable-ruby`, which no formula names), under their
   * sha256 — or under `sha256` when given, to serve bytes that do not match their name.
   */
  addBlob(image: string, bytes: Buffer, options?: { sha256?: string }): { sha256: string; size: number };
  resetStats(): void;
  close(): Promise<void>;
}

export const REGISTRY_PATH = "/v2/homebrew/core";
export const ANONYMOUS_AUTHORIZATION = "Bearer QQ==";
const MANIFEST_ROUTE = /^\/v2\/homebrew\/core\/(.+)\/manifests\/([^/]+)$/;
const BLOB_ROUTE = /^\/v2\/homebrew\/core\/(.+)\/blobs\/sha256:([0-9a-f]{64})$/;
const BLOB_HOST_ROUTE = /^\/blobs\/sha256:([0-9a-f]{64})$/;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? "127.0.0.1";
  const privateKey = await resolvePrivateKey(options);
  const publicKey = createPublicKey(privateKey);
  const kid = options.kid ?? HOMEBREW_KID;
  const lastModified = new Date(Math.floor((options.lastModified ?? new Date()).getTime() / 1000) * 1000);
  const faults = new FaultInjector();
  const stats = emptyStats();
  /** Blobs added with addBlob (Portable Ruby), by the sha256 they are served under. */
  const extraBlobs = new Map<string, { image: string; bytes: Buffer }>();
  let catalog: Catalog | undefined;
  let blobHost = "";

  const count = (path: string): void => {
    stats.requests.set(path, (stats.requests.get(path) ?? 0) + 1);
  };

  const main = createServer((req, res) => {
    const path = pathOf(req);
    count(path);
    void handleMain(req, res, path).catch((error: unknown) => sendError(res, 500, String(error)));
  });
  const blobs = createServer((req, res) => {
    const path = pathOf(req);
    count(path);
    void handleBlobHost(req, res, path).catch((error: unknown) => sendError(res, 500, String(error)));
  });

  async function handleMain(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!catalog) return sendError(res, 503, "the emulator is starting");
    if (req.method !== "GET" && req.method !== "HEAD") return sendError(res, 405, "method not allowed");
    if (path.startsWith("/api/")) {
      stats.apiRequests += 1;
      const file = catalog.current().files.get(path.slice("/api/".length));
      const signed = path.endsWith(".jws.json");
      const { done, fault } = takeFault(
        req,
        res,
        "api",
        path,
        file ? (signed ? ["body", "signed"] : ["body"]) : [],
      );
      if (done) return;
      if (!file) return sendError(res, 404, `no API file ${path}`);
      const body = fault?.kind === "tamper-signature" ? tamperSignature(file) : file;
      await sendBody(req, res, bodyOf(body, "application/json; charset=utf-8"), {
        fault,
        lastModified,
        range: false,
      });
      return;
    }
    if (!path.startsWith(`${REGISTRY_PATH}/`)) return sendError(res, 404, `nothing at ${path}`);
    if (req.headers.authorization !== ANONYMOUS_AUTHORIZATION) {
      res.setHeader("www-authenticate", `Bearer realm="${originOf(req)}/token",service="ghcr.io"`);
      return sendError(res, 401, "authentication required: send Authorization: Bearer QQ==");
    }
    const manifest = MANIFEST_ROUTE.exec(path);
    if (manifest) {
      stats.manifestRequests += 1;
      const body = catalog.manifest(
        decodeURIComponent(manifest[1] ?? ""),
        decodeURIComponent(manifest[2] ?? ""),
      );
      const { done, fault } = takeFault(req, res, "registry", path, body ? ["body"] : []);
      if (done) return;
      if (!body) return sendError(res, 404, "manifest unknown");
      await sendBody(req, res, bodyOf(body, OCI_INDEX), { fault, range: false });
      return;
    }
    const blob = BLOB_ROUTE.exec(path);
    if (blob) {
      stats.blobRequests += 1;
      if (takeFault(req, res, "registry", path, []).done) return;
      const sha256 = blob[2] ?? "";
      const bottle = catalog.current().bySha256.get(sha256) ?? extraBlobs.get(sha256);
      if (!bottle || bottle.image !== decodeURIComponent(blob[1] ?? ""))
        return sendError(res, 404, "blob unknown");
      res.writeHead(307, { location: `${blobHost}/blobs/sha256:${sha256}`, "content-length": "0" });
      res.end();
      return;
    }
    return sendError(res, 404, `nothing at ${path}`);
  }

  async function handleBlobHost(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    stats.blobHostRequests += 1;
    if (req.headers.authorization !== undefined) {
      return sendError(
        res,
        400,
        "the blob host must never receive an Authorization header (it was forwarded)",
      );
    }
    if (!catalog) return sendError(res, 503, "the emulator is starting");
    if (req.method !== "GET" && req.method !== "HEAD") return sendError(res, 405, "method not allowed");
    const route = BLOB_HOST_ROUTE.exec(path);
    const bottle = route ? catalog.current().bySha256.get(route[1] ?? "") : undefined;
    const extra = route && !bottle ? extraBlobs.get(route[1] ?? "") : undefined;
    const { done, fault } = takeFault(req, res, "blob", path, bottle || extra ? ["body"] : []);
    if (done) return;
    if (extra) {
      stats.bytesServed += await sendBody(req, res, bodyOf(extra.bytes, "application/octet-stream"), {
        fault,
        range: true,
      });
      return;
    }
    if (!bottle) return sendError(res, 404, "blob unknown");
    const blob = bottle.blob;
    const bytes = blob.kind === "bottle" ? await catalog.bottleBytes(blob.spec) : undefined;
    const source: BodySource = {
      size: bottle.size,
      contentType: "application/octet-stream",
      open: (start, end) => (bytes ? bytes.subarray(start, end + 1) : blobStream(blob.spec, start, end)),
    };
    const sent = await sendBody(req, res, source, { fault, range: true });
    stats.bytesServed += sent;
  }

  /** Takes the fault for this response; answers status/reset faults itself (`done`). */
  function takeFault(
    req: IncomingMessage,
    res: ServerResponse,
    hostName: EmulatorHost,
    path: string,
    capabilities: FaultCapability[],
  ): { done: boolean; fault?: Fault } {
    const fault = faults.take(hostName, path, capabilities);
    if (fault?.kind === "reset" && fault.afterBytes === undefined) {
      req.socket.resetAndDestroy();
      return { done: true };
    }
    if (fault?.kind === "status") {
      if (fault.retryAfter !== undefined) res.setHeader("retry-after", String(fault.retryAfter));
      sendError(res, fault.status, `injected fault: HTTP ${fault.status}`);
      return { done: true };
    }
    return fault ? { done: false, fault } : { done: false };
  }

  const mainAddress = await listen(main, host, options.port ?? 0);
  const blobAddress = await listen(blobs, host, options.blobPort ?? 0).catch(async (error: unknown) => {
    await closeServer(main);
    throw error;
  });
  const origin = `http://${urlHost(host)}:${mainAddress.port}`;
  blobHost = `http://${urlHost(host)}:${blobAddress.port}`;
  const registry = `${origin}${REGISTRY_PATH}`;
  try {
    const building = new Catalog(options, registry, { privateKey, kid });
    await building.build();
    catalog = building;
  } catch (error) {
    await Promise.all([closeServer(main), closeServer(blobs)]);
    throw error;
  }
  const ready = catalog;

  return {
    api: `${origin}/api`,
    registry,
    blobHost,
    stats,
    faults,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    publicKey,
    privateKey,
    kid,
    get index(): EmulatorIndex {
      return ready.current();
    },
    lastModified,
    bump: (name) => ready.bump(name),
    addBlob: (image, bytes, options = {}) => {
      const sha256 = options.sha256 ?? createHash("sha256").update(bytes).digest("hex");
      extraBlobs.set(sha256, { image, bytes });
      return { sha256, size: bytes.length };
    },
    resetStats: () => Object.assign(stats, emptyStats()),
    close: async () => {
      await Promise.all([closeServer(main), closeServer(blobs)]);
    },
  };
}

function bodyOf(bytes: Buffer, contentType: string): BodySource {
  return { size: bytes.length, contentType, open: (start, end) => bytes.subarray(start, end + 1) };
}

function emptyStats(): EmulatorStats {
  return {
    requests: new Map(),
    apiRequests: 0,
    manifestRequests: 0,
    blobRequests: 0,
    blobHostRequests: 0,
    bytesServed: 0,
  };
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? "/").split("?")[0] ?? "/";
}

function originOf(req: IncomingMessage): string {
  return `http://${req.headers.host ?? "localhost"}`;
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

async function resolvePrivateKey(options: EmulatorOptions): Promise<KeyObject> {
  if (options.privateKey) {
    return typeof options.privateKey === "string" ? createPrivateKey(options.privateKey) : options.privateKey;
  }
  const { privateKey } = await promisify(generateKeyPair)("rsa", {
    modulusLength: options.modulusLength ?? 2048,
  });
  return privateKey;
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
