/**
 * Hash-while-streaming, shared by every backend: a pass-through Transform that counts bytes and computes
 * sha256 as the body flows to its destination, so nothing is buffered whole. A body that grows past the
 * expected size is cut off at once (the destination never receives more than `size` bytes).
 */
import { createHash, type Hash } from "node:crypto";
import { Readable, Transform, type TransformCallback, Writable, type WritableOptions } from "node:stream";
import type { PutOptions } from "./blob-store.ts";
import { IntegrityError, StorageError } from "./errors.ts";

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Size and sha256 of bytes as they pass, checked against what the caller expects: a body that grows
 * past the expected size throws at once (nothing past `size` is accepted).
 */
export class ExpectedDigest {
  private readonly hash: Hash = createHash("sha256");
  private count = 0;
  private digest: string | undefined;

  constructor(
    readonly key: string,
    readonly expected: PutOptions = {},
  ) {}

  /** Bytes seen so far. */
  get bytes(): number {
    return this.count;
  }

  /** Counts and hashes `chunk`; throws IntegrityError if it takes the body past the expected size. */
  update(chunk: Uint8Array): void {
    this.count += chunk.byteLength;
    const { size } = this.expected;
    if (size !== undefined && this.count > size) {
      throw new IntegrityError({ key: this.key, field: "size", expected: size, actual: `more than ${size}` });
    }
    this.hash.update(chunk);
  }

  /** Throws IntegrityError when the bytes seen differ from the expectation; call once they all passed. */
  verify(): { size: number; sha256: string } {
    this.digest ??= this.hash.digest("hex");
    return verifyDigest(this.key, this.expected, { size: this.count, sha256: this.digest });
  }
}

export interface HashingStreamOptions {
  /**
   * Hold each chunk back until the next one arrives, and pass the last only once the whole body matched
   * the expectation: a destination that needs every byte to commit (an HTTP PUT with a Content-Length)
   * then never receives a complete mismatched body — the stream errors one chunk short of it.
   */
  holdLast?: boolean;
}

export class HashingStream extends Transform {
  private readonly digest: ExpectedDigest;
  private readonly holdLast: boolean;
  private held: Buffer | undefined;

  constructor(key: string, expected: PutOptions = {}, options: HashingStreamOptions = {}) {
    super();
    this.digest = new ExpectedDigest(key, expected);
    this.holdLast = options.holdLast === true;
  }

  get key(): string {
    return this.digest.key;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.digest.bytes;
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    try {
      this.digest.update(buffer);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (!this.holdLast) {
      callback(null, buffer);
      return;
    }
    const previous = this.held;
    this.held = buffer;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.holdLast) {
      callback();
      return;
    }
    try {
      this.digest.verify();
    } catch (error) {
      callback(error as Error);
      return;
    }
    const last = this.held;
    this.held = undefined;
    callback(null, last);
  }

  /** Throws IntegrityError when the bytes that passed differ from the expectation. */
  verify(): { size: number; sha256: string } {
    return this.digest.verify();
  }
}

/**
 * The same check as a Writable end: a backend that writes the bytes itself (fs) extends this, so
 * hashing happens in its own write path instead of in an extra Transform hop. Subclasses implement
 * `consume` (called with each chunk after it was hashed) and `finish` (flush before the end).
 */
export abstract class HashingWritable extends Writable {
  private readonly digest: ExpectedDigest;

  constructor(key: string, expected: PutOptions = {}, options: WritableOptions = {}) {
    super({ ...options, decodeStrings: true });
    this.digest = new ExpectedDigest(key, expected);
  }

  protected abstract consume(chunk: Buffer, callback: (error?: Error | null) => void): void;
  protected abstract finish(callback: (error?: Error | null) => void): void;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.digest.update(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.consume(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish(callback);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.digest.bytes;
  }

  /** Throws IntegrityError when the bytes written differ from the expectation; call after it finished. */
  verify(): { size: number; sha256: string } {
    return this.digest.verify();
  }
}

export function hashingStream(
  key: string,
  expected: PutOptions = {},
  options: HashingStreamOptions = {},
): HashingStream {
  return new HashingStream(key, expected, options);
}

/** Compares actual size/sha256 with the expectation; size first (the clearer message). */
export function verifyDigest(
  key: string,
  expected: PutOptions,
  actual: { size: number; sha256: string },
): { size: number; sha256: string } {
  if (expected.size !== undefined && expected.size !== actual.size) {
    throw new IntegrityError({ key, field: "size", expected: expected.size, actual: actual.size });
  }
  if (expected.sha256 !== undefined && expected.sha256 !== actual.sha256) {
    throw new IntegrityError({ key, field: "sha256", expected: expected.sha256, actual: actual.sha256 });
  }
  return actual;
}

/** Rejects malformed expectations up front: a negative size or a non-hex sha256 can never match. */
export function assertValidExpectation(key: string, expected: PutOptions): void {
  if (expected.size !== undefined && !(Number.isSafeInteger(expected.size) && expected.size >= 0)) {
    throw new StorageError(`invalid expected size ${expected.size} for ${key}: must be a whole number ≥ 0`, {
      key,
      fix: "Pass the size the source declares in bytes; if it comes from an index, the index is corrupt.",
    });
  }
  if (expected.sha256 !== undefined && !SHA256_HEX.test(expected.sha256)) {
    throw new StorageError(
      `invalid expected sha256 ${JSON.stringify(expected.sha256)} for ${key}: must be 64 lowercase hex characters`,
      { key, fix: "Pass a lowercase hex sha256; if it comes from an index, the index is corrupt." },
    );
  }
}

/** Digest of an in-memory body. */
export function digestOf(body: Uint8Array | string): { size: number; sha256: string } {
  const buffer = typeof body === "string" ? Buffer.from(body) : body;
  return { size: buffer.byteLength, sha256: createHash("sha256").update(buffer).digest("hex") };
}

/**
 * A small body (FsStore's small puts), hashed as it arrives and held in memory; rejects with the
 * body's error, with an IntegrityError (more bytes than expected: the body is destroyed; or another
 * size or digest at its end), or when the body closes before its end. Listeners rather than
 * stream.pipeline into a Writable: pipeline creates and aborts an AbortController per call (a
 * DOMException with its stack): with it, the transfer phase of a 2,000 × 16 KiB sync took a third
 * longer (bench/README.md, "Small bottles").
 */
export async function readHashed(
  key: string,
  body: Readable | Uint8Array | string,
  expected: PutOptions,
): Promise<{ bytes: Buffer; size: number; sha256: string }> {
  const digest = new ExpectedDigest(key, expected);
  if (!(body instanceof Readable)) {
    const bytes =
      typeof body === "string"
        ? Buffer.from(body)
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    digest.update(bytes);
    return { bytes, ...digest.verify() };
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const done = (error: unknown, result?: { bytes: Buffer; size: number; sha256: string }): void => {
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", done);
      body.off("close", onClose);
      if (result) resolve(result);
      else reject(error);
    };
    const onData = (chunk: Buffer | string): void => {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      try {
        digest.update(buffer);
      } catch (error) {
        body.destroy();
        done(error);
        return;
      }
      chunks.push(buffer);
    };
    const onEnd = (): void => {
      try {
        const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        done(undefined, { bytes, ...digest.verify() });
      } catch (error) {
        done(error);
      }
    };
    const onClose = (): void => {
      if (!body.readableEnded) done(body.errored ?? new Error(`the body of ${key} closed before its end`));
    };
    if (body.destroyed) {
      reject(body.errored ?? new Error(`the body of ${key} was destroyed before it was read`));
      return;
    }
    body.on("data", onData);
    body.once("end", onEnd);
    body.once("error", done);
    body.once("close", onClose);
  });
}
