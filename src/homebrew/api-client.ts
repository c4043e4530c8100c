import { createHash, type KeyObject } from "node:crypto";
import type { Dispatcher } from "undici";
import { InvalidUpstreamDataError, SignatureError } from "./errors.ts";
import {
  BOTTLE_TAG,
  type RejectedEntry,
  type ValidatedFormulae,
  validateFormulae,
} from "./formula-schema.ts";
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
  /**
   * For a `.jws.json`: its payload text, as the signature check read it out of the envelope (in
   * memory only; parsePayload reads it instead of parsing the envelope again).
   */
  payload?: string;
  /**
   * Set when the bytes are those of a file an earlier run accepted under the same trusted key and
   * kid (`FetchIndexOptions.accepted`): the signature and the payload's shape were not checked again.
   */
  accepted?: true;
}

/**
 * Store key → sha256 of bytes an earlier run verified and accepted under this client's `trust`
 * (src/mirror/accepted-api.ts). A signature check is a function of the bytes, the key and the kid:
 * bytes with a recorded digest passed it before, and would again.
 */
export type AcceptedApiFiles = ReadonlyMap<string, string>;

export interface ApiIndex {
  /**
   * Entries of formula.jws.json that passed validation (see formula-schema.ts); empty without it.
   * The client parses and validates the payload on the first read of `formulae` or `rejected`: a
   * re-sync whose inputs are settled (src/mirror/settled.ts) never reads them.
   */
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
  /** Files whose bytes match are not verified again (see ApiFile.accepted). */
  accepted?: AcceptedApiFiles;
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
  /** What a verification depends on besides the bytes: the trusted key and the kid (see trustOf). */
  readonly trust: string;

  constructor(options: HomebrewApiClientOptions) {
    this.apiBase = options.apiBase;
    this.trustedKey = options.trustedKey;
    this.dispatcher = options.dispatcher ?? createDispatcher(options.http);
    this.kid = options.kid ?? HOMEBREW_KID;
    this.retry = options.retry ?? {};
    this.timeoutMs = options.timeoutMs ?? 300_000;
    this.maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
    this.trust = trustOf(this.trustedKey, this.kid);
  }

  /**
   * formula.jws.json (required unless `formulaOptional`) and the optional signed files, verified;
   * formulae validated.
   */
  async fetchIndex(options: FetchIndexOptions = {}): Promise<ApiIndex> {
    const optional = options.formulaOptional === true;
    const accepted = options.accepted;
    const formulaFile = await this.fetchApiFile(FORMULA_INDEX, { optional, accepted });
    const files: ApiFile[] = [];
    const missing: string[] = [];
    let validate = (): ValidatedFormulae => ({ formulae: [], rejected: [] });
    if (formulaFile === null) {
      missing.push(`${API_PREFIX}${FORMULA_INDEX}`);
    } else {
      const url = this.urlOf(FORMULA_INDEX);
      // The shape is checked now (a signed payload that is not an array stops the run before its
      // first write); the entries are parsed and validated when first read.
      if (!formulaFile.accepted && !startsWith(formulaFile, "[")) {
        throw new InvalidUpstreamDataError(`${FORMULA_INDEX} payload is not a JSON array of formulae`, url);
      }
      validate = () => validateFormulae(parsePayload(formulaFile, url) as unknown[]);
      files.push(formulaFile);
    }
    for (const name of OPTIONAL_API_FILES) {
      const file = await this.fetchApiFile(name, { optional: true, accepted });
      if (file === null) {
        missing.push(`${API_PREFIX}${name}`);
        continue;
      }
      if (!file.accepted) parsePayload(file, this.urlOf(name));
      files.push(file);
    }
    let validated: ValidatedFormulae | undefined;
    return {
      files,
      missing,
      get formulae() {
        validated ??= validate();
        return validated.formulae;
      },
      get rejected() {
        validated ??= validate();
        return validated.rejected;
      },
    };
  }

  /** `internal/packages.<tag>.jws.json`, verified; null when the upstream has none for the tag (404). */
  async fetchInternalPackages(
    tag: string,
    options: { accepted?: AcceptedApiFiles | undefined } = {},
  ): Promise<ApiFile | null> {
    if (!BOTTLE_TAG.test(tag)) {
      throw new InvalidUpstreamDataError(`invalid bottle tag ${JSON.stringify(tag)}`, this.apiBase);
    }
    const path = `internal/packages.${tag}.jws.json`;
    const file = await this.fetchApiFile(path, { optional: true, accepted: options.accepted });
    if (file === null) return null;
    // The shape now; the entries when the plan reads them (internal-packages.ts).
    if (!file.accepted && !startsWith(file, "{")) {
      throw new InvalidUpstreamDataError(`${path} payload is not a JSON object`, this.urlOf(path));
    }
    return file;
  }

  /**
   * Downloads `path` under the API base (retrying transient failures) and, for `.jws.json`,
   * verifies its signature, unless its sha256 is the one `accepted` records for its key. Returns null
   * for a 404 when `optional`.
   */
  async fetchApiFile(
    path: string,
    options: { optional: boolean; accepted?: AcceptedApiFiles | undefined },
  ): Promise<ApiFile | null> {
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
    const key = `${API_PREFIX}${path}`;
    const sha256 = createHash("sha256").update(result.bytes).digest("hex");
    if (options.accepted?.get(key) === sha256) {
      const file: ApiFile = { key, bytes: result.bytes, sha256, accepted: true };
      if (result.lastModified !== null) file.lastModified = result.lastModified;
      return file;
    }
    let payload: string | undefined;
    if (path.endsWith(".jws.json")) {
      try {
        ({ payload } = verifyJws(Buffer.from(result.bytes).toString("utf8"), this.trustedKey, this.kid));
      } catch (error) {
        if (error instanceof SignatureError) {
          throw new SignatureError(`${url}: ${error.message}`, { cause: error, source: url });
        }
        throw error;
      }
    }
    const file: ApiFile = { key, bytes: result.bytes, sha256 };
    if (result.lastModified !== null) file.lastModified = result.lastModified;
    if (payload !== undefined) file.payload = payload;
    return file;
  }

  private urlOf(path: string): string {
    return joinUrl(this.apiBase, path);
  }
}

/**
 * What a signature check depends on besides the bytes: sha256 of the kid and the key's SPKI (DER).
 * Another trusted key or kid gives another value, so files accepted under it are verified again.
 */
export function trustOf(key: KeyObject, kid: string = HOMEBREW_KID): string {
  return createHash("sha256")
    .update(`${kid}\n`)
    .update(key.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/** The payload of an already verified `.jws.json`, parsed. */
export function parsePayload(file: ApiFile, url: string): unknown {
  const text =
    file.payload ?? (JSON.parse(Buffer.from(file.bytes).toString("utf8")) as { payload: string }).payload;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidUpstreamDataError(`the signed payload of ${url} is not valid JSON`, url, {
      cause: error,
    });
  }
}

/** True when the verified payload's first non-blank character is `first` (`[` or `{`). */
function startsWith(file: ApiFile, first: string): boolean {
  const text = file.payload ?? "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === " " || char === "\n" || char === "\r" || char === "\t") continue;
    return char === first;
  }
  return false;
}
