import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RegistryClient } from "../../../src/homebrew/registry-client.ts";
import { withEmulator } from "../../helpers/emulator.ts";

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

// A memory bound, not a timing one: the emulator generates bottles on the fly and the registry client
// streams them, so serving and hashing a 1 GiB bottle in this one process must not hold it in memory.
describe("emulator: a 1 GiB bottle", () => {
  const emulator = withEmulator({
    fixtures: false,
    blobs: "raw",
    synthetic: { formulae: 1, tags: ["x86_64_linux"], sizes: () => GIB },
  });

  it("streams through the registry client with small RSS growth, and its sha256 is the advertised one", async () => {
    const [bottle] = emulator().index.bottles;
    if (!bottle) throw new Error("no bottle");
    const client = new RegistryClient({ registryBase: emulator().registry });
    const baseline = process.memoryUsage().rss;
    let peak = baseline;

    const blob = await client.blob(bottle.image, bottle.sha256);
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of blob.body) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (bytes % (64 * MIB) < (chunk as Buffer).length) peak = Math.max(peak, process.memoryUsage().rss);
    }
    peak = Math.max(peak, process.memoryUsage().rss);

    expect(bottle.size).toBe(GIB);
    expect(bytes).toBe(GIB);
    expect(hash.digest("hex")).toBe(bottle.sha256);
    expect(emulator().stats.bytesServed).toBe(GIB);
    expect(peak - baseline).toBeLessThan(100 * MIB);
  });
});
