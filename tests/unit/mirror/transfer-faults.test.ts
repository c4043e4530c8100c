import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RegistryClient } from "../../../src/homebrew/registry-client.ts";
import { TransferError } from "../../../src/mirror/errors.ts";
import type { PlannedTransfer } from "../../../src/mirror/plan.ts";
import { transferBottle } from "../../../src/mirror/transfer.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import {
  BODY,
  contentLengthHead,
  FAILURE_SHAPES,
  PIECES,
  POSITIONS,
  type RawServer,
  send,
  startRawServer,
} from "../../helpers/raw-http.ts";

const SHA256 = createHash("sha256").update(BODY).digest("hex");
const REF: PlannedTransfer = {
  formula: "wget",
  pkgVersion: "1.0",
  tag: "arm64_sequoia",
  rebuild: 0,
  sha256: SHA256,
  image: "wget",
  versionRebuild: "1.0",
  key: "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz",
  manifestKey: "bottles/wget/manifests/1.0",
  size: BODY.length,
};

/** The whole body, correctly framed. */
async function serveWhole(socket: Socket): Promise<void> {
  await send(socket, contentLengthHead(BODY.length));
  for (const piece of PIECES) await send(socket, piece);
}

/** The whole body at its full length, one byte flipped inside piece `position` (a sha256 mismatch). */
async function serveCorrupted(socket: Socket, position: number): Promise<void> {
  await send(socket, contentLengthHead(BODY.length));
  for (const [index, piece] of PIECES.entries()) {
    const bytes = Buffer.from(piece);
    if (index === position) bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    await send(socket, bytes);
  }
}

const SHAPES = [...FAILURE_SHAPES, ["a corrupted byte (sha256 mismatch)", serveCorrupted] as const];

/**
 * The transfer, end to end over a real socket into the folder store: every failure shape is retried
 * within the retry budget, and nothing but verified bytes ever lands under the key.
 */
describe("mirror/transfer under network faults", () => {
  /** A folder store and a registry client on a raw server answering with `respond`, for one test. */
  async function attempt(
    respond: (request: { socket: Socket; index: number }) => Promise<void>,
    retries?: number,
  ): Promise<{ outcome: unknown; dir: string; store: FsStore; server: RawServer }> {
    const dir = await mkdtemp(join(tmpdir(), "hbsync-transfer-faults-"));
    const store = new FsStore(dir);
    const server = await startRawServer(respond);
    const registry = new RegistryClient({ registryBase: server.url, idleTimeoutMs: 200 });
    try {
      const outcome = await transferBottle(REF, {
        store,
        registry,
        absent: true,
        retry: { sleep: async () => {}, ...(retries === undefined ? {} : { retries }) },
      }).catch((error: unknown) => error);
      return { outcome, dir, store, server };
    } finally {
      await registry.close();
      await server.close();
    }
  }

  const cases = SHAPES.flatMap(([shape, write]) =>
    POSITIONS.map(([where, position]) => [shape, where, write, position] as const),
  );

  // Concurrent: the stalls wait for the idle timeout (undici's timers tick about once a second).
  it.concurrent.each(cases)(
    "%s at the %s piece: retried, then stored verified",
    async (_s, _w, write, position) => {
      const { outcome, dir } = await attempt(({ socket, index }) =>
        index === 0 ? write(socket, position) : serveWhole(socket),
      );
      try {
        expect(outcome).toMatchObject({ sha256: SHA256, size: BODY.length, adopted: false, attempts: 2 });
        expect((await readFile(join(dir, REF.key))).equals(BODY)).toBe(true);
        expect(await readdir(join(dir, ".tmp"))).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it.concurrent.each(SHAPES)(
    "%s on every attempt: a TransferError after the budget, nothing stored",
    async (_s, write) => {
      const { outcome, dir, store, server } = await attempt(({ socket }) => write(socket, 1), 2);
      try {
        expect(outcome).toBeInstanceOf(TransferError);
        expect((outcome as Error).message).toMatch(/after 3 attempt\(s\)/);
        expect(server.requests).toHaveLength(3);
        expect(await store.stat(REF.key)).toBeNull();
        expect(await readdir(join(dir, ".tmp"))).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
