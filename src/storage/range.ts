/** Byte ranges for `BlobStore.get`: validation shared by the backends, and a guard for lax servers. */
import { pipeline, type Readable, Transform } from "node:stream";
import { StorageError } from "./errors.ts";

/** Throws StorageError for a negative or non-integer start, or an end before the start. */
export function assertValidRange(key: string, range: { start: number; end?: number }): void {
  const validEnd = range.end === undefined || (Number.isSafeInteger(range.end) && range.end >= range.start);
  if (!(Number.isSafeInteger(range.start) && range.start >= 0) || !validEnd) {
    throw new StorageError(`invalid range bytes=${range.start}-${range.end ?? ""} for ${key}`, {
      key,
      fix: "A range is inclusive: 0 ≤ start ≤ end.",
    });
  }
}

/**
 * HTTP lets a server ignore a Range (200, whole body) and some S3-compatible servers widen one (s3rver
 * answers `bytes=0-0` with the whole object): cut the body down to what was asked for.
 */
export function trimToRange(
  body: Readable,
  range: { start: number; end?: number },
  contentRange: string | undefined,
): Readable {
  const served = /^bytes (\d+)-(\d+)\//.exec(contentRange ?? "");
  const servedStart = served ? Number(served[1]) : 0;
  const servedEnd = served ? Number(served[2]) : Number.POSITIVE_INFINITY;
  const wantedEnd = range.end ?? Number.POSITIVE_INFINITY;
  if (servedStart === range.start && servedEnd <= wantedEnd) return body;
  let skip = Math.max(0, range.start - servedStart);
  let remaining = wantedEnd - Math.max(range.start, servedStart) + 1;
  const trimmed = new Transform({
    transform(chunk: Buffer, _encoding, callback): void {
      let part = chunk;
      if (skip > 0) {
        const dropped = Math.min(skip, part.length);
        part = part.subarray(dropped);
        skip -= dropped;
      }
      if (remaining <= 0 || part.length === 0) return callback();
      if (part.length > remaining) part = part.subarray(0, remaining);
      remaining -= part.length;
      callback(null, part);
    },
  });
  pipeline(body, trimmed, () => undefined);
  return trimmed;
}
