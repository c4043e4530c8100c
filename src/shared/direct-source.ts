/**
 * A body that can hand its bytes straight to a synchronous consumer, each chunk valid only during the
 * call (the producer reuses the memory right after). The registry's HTTP client (src/homebrew/http1.ts)
 * is one: the folder store drains it with `hash.update` + `writeSync` from the socket's own read buffer,
 * the way curl writes, instead of copying every chunk and writing it from the libuv threads, which
 * costs twice the CPU (bench/README.md). Stores that cannot consume synchronously (S3) read the same
 * object as the Readable it also is.
 */
export interface DirectSource {
  /**
   * Calls `sink` with every remaining byte, in order, and resolves after the last. The sink must be
   * done with a chunk when it returns; if it throws, the source stops, discards the rest, and the
   * promise rejects with that error. Rejects as the stream would error (network failure, short body).
   */
  drainTo(sink: (chunk: Uint8Array) => void): Promise<void>;
}

export function isDirectSource(body: unknown): body is DirectSource {
  return typeof (body as { drainTo?: unknown } | null)?.drainTo === "function";
}
