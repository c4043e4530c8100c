import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BLOCK_SIZE, blobDigest, blobStream } from "../../../src/emulator/blob-source.ts";

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("emulator/blob-source", () => {
  const spec = { id: "wget|1.25.0|arm64_sequoia|0", size: 3 * BLOCK_SIZE + 123 };

  describe("blobStream", () => {
    it("yields exactly `size` bytes, the same every time", async () => {
      const first = await collect(blobStream(spec));
      const second = await collect(blobStream(spec));

      expect(first.length).toBe(spec.size);
      expect(first.equals(second)).toBe(true);
    });

    it("serves any range as the same bytes as the whole", async () => {
      const whole = await collect(blobStream(spec));

      for (const [start, end] of [
        [0, 0],
        [BLOCK_SIZE - 1, BLOCK_SIZE + 1],
        [1000, 2 * BLOCK_SIZE + 7],
        [spec.size - 10, spec.size - 1],
      ] as const) {
        expect((await collect(blobStream(spec, start, end))).equals(whole.subarray(start, end + 1))).toBe(
          true,
        );
      }
    });

    it("gives different bottles different bytes", async () => {
      const other = await collect(blobStream({ ...spec, id: "wget|1.25.0|sonoma|0" }));

      expect(other.equals(await collect(blobStream(spec)))).toBe(false);
    });
  });

  describe("blobDigest", () => {
    it("is the sha256 of the streamed bytes, for sizes around the block size", async () => {
      for (const size of [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 2 * BLOCK_SIZE + 5]) {
        const sized = { id: `sized|${size}`, size };
        const bytes = await collect(blobStream(sized));

        expect(blobDigest(sized)).toBe(createHash("sha256").update(bytes).digest("hex"));
      }
    });
  });
});
