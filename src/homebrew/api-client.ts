import { createHash, type KeyObject } from "node:crypto";
import type { Dispatcher } from "undici";
import { InvalidUpstreamDataError, SignatureError } from "./errors.ts";
import { BOTTLE_TAG, type RejectedEntry, validateFormulae } from "./formula-schema.ts";
import { discard, headerOf, joinUrl, networkError, readBody, statusError, USER_AGENT } from "./http.ts";
import { createDispatcher, type HttpClientOptions, type HttpResponse, httpGet } from "./http-client.ts";
import { HOMEBREW_KID, verifyJws } from "./jws.ts";
import { type RetryOptions, withRetry } from "./retry.ts";
import type { FormulaInfo } from "./types.ts";

/** One API file exactly as served (byte-identical; it is signed), keyed by its store key. */
export interface ApiFile {
  /** Store key: `api/formula.jws.json`, `api/internal/packages.arm64_sequoia.jws.json`, … */
  key: string;
  bytes: Uint8Array;
  /** Lowercase hex sha256 of `bytes`. */
  sha256: string;
  /** The upstream's Last-Modified header, verbatim, when it sent one. */
  lastModified?: string;
}

export interface ApiIndex {
  /** Entries of formula.jws.json that passed validation (see formula-schema.ts); empty without it. */
  formulae: FormulaInfo[];
  /** The verified API files, formula.jws.json first (when the upstream has it). */
  files: ApiFile[];
  /** Entries refused by validation, with the reason; never among `formulae`. */
  rejected: RejectedEntry[];
  /** Keys of optional files the upstream does not have (404). */
  missing: string[];
}

export interface FetchIndexOptions {
  /**
   * A 404 on formula.jws.json is not an error (default false): for a run that plans every tag from
   * brew 6's `internal/packages.<tag>` files, which an upstream may serve without the v1 index.
   * The key is then among `missing` and `formulae` is empty.
   */
  formulaOptional?: boolean;
}

export const FORMULA_INDEX = "formula.jws.json";

export interface HomebrewApiClientOptions {
  /** `https://formulae.brew.sh/api` or the emulator's `api` URL. */
  apiBase: string;
  trustedKey: KeyObject;
  /** Proxy, pool size and TLS options of the client (./http-client.ts). */
  http?: HttpClientOptions;
  /** A dispatcher to share instead (then `http` is ignored). */
  dispatcher?: Dispatcher;
  /** The signature to check (default `homebrew-1`). */
  kid?: string;
  retry?: RetryOptions;
  /** Per request, including the body (default 300 000 ms). */
  timeoutMs?: number;
  /** Largest API file accepted (default 512 MiB; formula.jws.json is ~35 MB today). */
  maxBytes?: number;
}

/** The signed files besides formula.jws.json (DESIGN.md §1). Missing ones are reported, not fatal. */
export const OPTIONAL_API_FILES = [
  "cask.jws.json",
  "formula_tap_migrations.jws.json",
  "cask_tap_migrations.jws.json",
] as const;

export const API_PREFIX = "api/";

/**
 * The Homebrew JSON API: downloads, verifies the JWS signature against the trusted key before
 * parsing anything, then validates the payload. A bad signature anywhere is a SignatureError.
 */
export class HomebrewApiClient {
  private readonly apiBase: string;
  private readonly trustedKey: KeyObject;
  private readonly dispatcher: Dispatcher;
  private readonly kid: string;
  private readonly retry: RetryOptions;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(options: HomebrewApiClientOptions) {
    this.apiBase = options.apiBase;
    this.trustedKey = options.trustedKey;
    this.dispatcher = options.dispatcher ?? createDispatcher(options.http);
    this.kid = options.kid ?? HOMEBREW_KID;
    this.retry = options.retry ?? {};
    this.timeoutMs = options.timeoutMs ?? 300_000;
    this.maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
  }

  /**
   * formula.jws.json (required unless `formulaOptional`) and the optional signed files, verified;
   * formulae validated.
   */
  async fetchIndex(options: FetchIndexOptions = {}): Promise<ApiIndex> {
    const optional = options.formulaOptional === true;
    const formulaFile = await this.fetchApiFile(FORMULA_INDEX, { optional });
    const files: ApiFile[] = [];
    const missing: string[] = [];
    let formulae: FormulaInfo[] = [];
    let rejected: RejectedEntry[] = [];
    if (formulaFile === null) {
      missing.push(`${API_PREFIX}${FORMULA_INDEX}`);
    } else {
      const payload = parsePayload(formulaFile, this.urlOf(FORMULA_INDEX));
      if (!Array.isArray(payload)) {
        throw new InvalidUpstreamDataError(
          `${FORMULA_INDEX} payload is not a JSON array of formulae`,
          this.urlOf(FORMULA_INDEX),
        );
      }
      ({ formulae, rejected } = validateFormulae(payload));
      files.push(formulaFile);
    }
    for (const name of OPTIONAL_API_FILES) {
      const file = await this.fetchApiFile(name, { optional: true });
      if (file === null) {
        missing.push(`${API_PREFIX}${name}`);
        continue;
      }
      parsePayload(file, this.urlOf(name));
      files.push(file);
    }
    return { formulae, files, rejected, missing };
  }

  /** `internal/packages.<tag>.jws.json`, verified; null when the upstream has none for the tag (404). */
  async fetchInternalPackages(tag: string): Promise<ApiFile | null> {
    if (!BOTTLE_TAG.test(tag)) {
      throw new InvalidUpstreamDataError(`invalid bottle tag ${JSON.stringify(tag)}`, this.apiBase);
    }
    const path = `internal/packages.${tag}.jws.json`;
    const file = await this.fetchApiFile(path, { optional: true });
    if (file === null) return null;
    const payload = parsePayload(file, this.urlOf(path));
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      throw new InvalidUpstreamDataError(`${path} payload is not a JSON object`, this.urlOf(path));
    }
    return file;
  }

  /**
   * Downloads `path` under the API base (retrying transient failures) and, for `.jws.json`,
   * verifies its signature. Returns null for a 404 when `optional`.
   */
  async fetchApiFile(path: string, options: { optional: boolean }): Promise<ApiFile | null> {
    const url = this.urlOf(path);
    const result = await withRetry(async () => {
      let response: HttpResponse;
      try {
        response = await httpGet(this.dispatcher, url, {
          headers: { "user-agent": USER_AGENT, accept: "application/json", "accept-encoding": "identity" },
          idleTimeoutMs: this.timeoutMs,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        throw networkError(error, url, `cannot download ${path}`);
      }
      if (response.statusCode === 404 && options.optional) {
        discard(response);
        return null;
      }
      if (response.statusCode < 200 || response.statusCode > 299) {
        discard(response);
        throw statusError(response, url, `cannot download ${path}`);
      }
      const bytes = await readBody(response, url, this.maxBytes);
      const lastModified = headerOf(response, "last-modified") ?? null;
      return { bytes, lastModified };
    }, this.retry);
    if (result === null) return null;
    if (path.endsWith(".jws.json")) {
      try {
        verifyJws(Buffer.from(result.bytes).toString("utf8"), this.trustedKey, this.kid);
      } catch (error) {
        if (error instanceof SignatureError) {
          throw new SignatureError(`${url}: ${error.message}`, { cause: error, source: url });
        }
        throw error;
      }
    }
    const file: ApiFile = {
      key: `${API_PREFIX}${path}`,
      bytes: result.bytes,
      sha256: createHash("sha256").update(result.bytes).digest("hex"),
    };
    if (result.lastModified !== null) file.lastModified = result.lastModified;
    return file;
  }

  private urlOf(path: string): string {
    return joinUrl(this.apiBase, path);
  }
}

/** The payload of an already verified `.jws.json`, parsed. */
function parsePayload(file: ApiFile, url: string): unknown {
  const envelope = JSON.parse(Buffer.from(file.bytes).toString("utf8")) as { payload: string };
  try {
    return JSON.parse(envelope.payload);
  } catch (error) {
    throw new InvalidUpstreamDataError(`the signed payload of ${url} is not valid JSON`, url, {
      cause: error,
    });
  }
}
