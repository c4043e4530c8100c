import { HbsyncError, type HbsyncErrorOptions } from "../shared/errors.ts";

/** The base of every error about the upstream (Homebrew API, OCI registry, trusted key). */
export class HomebrewError extends HbsyncError {
  constructor(message: string, options: HbsyncErrorOptions = {}) {
    super(message, options);
    this.name = "HomebrewError";
  }
}

/** A `.jws.json` file whose signature does not verify: nothing in it may be trusted. */
export class SignatureError extends HomebrewError {
  /** The file (URL or key) whose signature failed, when known. */
  readonly source: string | undefined;

  constructor(message: string, options: HbsyncErrorOptions & { source?: string } = {}) {
    super(message, {
      fix:
        options.fix ??
        "the API file may have been tampered with in transit (or by a mirror in between): check " +
          "mirror.upstream.api and mirror.upstream.trusted_key, then retry; never disable verification",
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = "SignatureError";
    this.source = options.source;
  }
}

/** The trusted public key could not be read or is not an RSA public key. */
export class TrustedKeyError extends HomebrewError {
  readonly path: string;

  constructor(message: string, path: string, options: HbsyncErrorOptions = {}) {
    super(message, {
      fix: "set mirror.upstream.trusted_key to `builtin` or to the path of a PEM public key (--trusted-key)",
      ...options,
      kind: "usage",
    });
    this.name = "TrustedKeyError";
    this.path = path;
  }
}

export interface UpstreamErrorOptions extends HbsyncErrorOptions {
  /** HTTP status, when the server answered. */
  status?: number;
  url: string;
  /** Parsed `Retry-After`, in milliseconds. */
  retryAfterMs?: number;
  /** Forces the retry decision (e.g. a truncated body is retryable though it has no status). */
  retryable?: boolean;
}

/** The upstream answered with an error status, or the connection/body failed. */
export class UpstreamError extends HomebrewError {
  readonly status: number | undefined;
  readonly url: string;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;

  constructor(message: string, options: UpstreamErrorOptions) {
    const { status, url, retryAfterMs, retryable, ...rest } = options;
    super(message, {
      fix: "check the upstream URL (mirror.upstream.api / mirror.upstream.registry) and your network; transient failures are retried",
      ...rest,
    });
    this.name = "UpstreamError";
    this.status = status;
    this.url = url;
    this.retryAfterMs = retryAfterMs;
    this.retryable = retryable ?? (status === undefined ? false : isRetryableStatus(status));
  }
}

/** An upstream document that parsed but is not what brew would accept (not an array, bad manifest…). */
export class InvalidUpstreamDataError extends HomebrewError {
  readonly url: string;

  constructor(message: string, url: string, options: HbsyncErrorOptions = {}) {
    super(message, {
      fix: "the upstream served something unexpected; check mirror.upstream.api / registry point at a Homebrew API",
      ...options,
    });
    this.name = "InvalidUpstreamDataError";
    this.url = url;
  }
}

/** 408, 425, 429 and 5xx are worth retrying; other statuses are final. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}
