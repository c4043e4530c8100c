/**
 * `npm run bench -- http-body [--total-mib 1024] [--bottles 100] [--concurrency 4] [--runs 5]`: the
 * registry client's body path against undici's `request()`, in one process, into the same folder
 * store, in rotating order (medians; wall and CPU seconds):
 *   dispatch   RegistryClient.blob (undici's dispatch handler API pushing each chunk into a Readable),
 *              which the folder store reads as a stream (hash, ~1 MiB writev batches)
 *   request()  undici `request()` on the same kind of dispatcher (redirect followed the same way); the
 *              folder store reads its BodyReadable as a stream (hash, ~1 MiB writev batches)
 * The emulator serves the bytes from the same process, so CPU includes it equally for both.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { startEmulator } from "../src/emulator/emulator.ts";
import { createDispatcher } from "../src/homebrew/http-client.ts";
import { RegistryClient } from "../src/homebrew/registry-client.ts";
import { forEachBounded } from "../src/shared/concurrency.ts";
import { FsStore } from "../src/storage/fs.ts";
import { flag, MiB, median, mixedSizes, type Row, save } from "./lib.ts";

export async function httpBody(args: string[]): Promise<Row[]> {
  const totalMiB = flag(args, "total-mib", 1024);
  const count = flag(args, "bottles", 100);
  const concurrency = flag(args, "concurrency", 4);
  const runs = Math.max(1, flag(args, "runs", 5));
  const sizes = mixedSizes(count, totalMiB * MiB);
  const emulator = await startEmulator({
    fixtures: false,
    synthetic: { formulae: count, tags: ["arm64_sequoia"], sizes: ({ index }) => sizes[index] ?? 4096 },
  });
  const bottles = emulator.index.bottles;
  const bytes = bottles.reduce((sum, bottle) => sum + bottle.size, 0);
  const registry = new RegistryClient({ registryBase: emulator.registry });
  const dispatcher = createDispatcher();
  const viaRequest = async (image: string, sha256: string): Promise<Readable> => {
    let url = `${emulator.registry}/${image}/blobs/sha256:${sha256}`;
    for (;;) {
      const target = new URL(url);
      const response = await dispatcher.request({
        origin: target.origin,
        path: target.pathname,
        method: "GET",
        headers: target.origin === new URL(emulator.registry).origin ? { authorization: "Bearer QQ==" } : {},
      });
      if (response.statusCode === 307) {
        await response.body.dump();
        url = new URL(String(response.headers.location), url).toString();
        continue;
      }
      return response.body;
    }
  };
  const modes: Array<[string, (store: FsStore) => Promise<void>]> = [
    [
      "dispatch (the client)",
      (store) =>
        forEachBounded(bottles, concurrency, async (bottle) => {
          const blob = await registry.blob(bottle.image, bottle.sha256);
          await store.put(bottle.key, blob.body, {
            sha256: bottle.sha256,
            size: bottle.size,
            deferSync: true,
          });
        }),
    ],
    [
      "request() + stream",
      (store) =>
        forEachBounded(bottles, concurrency, async (bottle) => {
          const body = await viaRequest(bottle.image, bottle.sha256);
          await store.put(bottle.key, body, { sha256: bottle.sha256, size: bottle.size, deferSync: true });
        }),
    ],
  ];
  const samples = new Map<string, Array<{ seconds: number; cpu: number }>>();
  try {
    for (let run = 0; run < runs; run++) {
      for (let j = 0; j < modes.length; j++) {
        const [name, mode] = modes[(run + j) % modes.length] as (typeof modes)[number];
        const dir = await mkdtemp(join(tmpdir(), "hbsync-bench-body-"));
        const store = new FsStore(dir);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await mode(store);
        const seconds = (performance.now() - t0) / 1000;
        const used = process.cpuUsage(cpu0);
        await store.flush();
        await rm(dir, { recursive: true, force: true });
        samples.set(name, [...(samples.get(name) ?? []), { seconds, cpu: (used.user + used.system) / 1e6 }]);
      }
    }
  } finally {
    await registry.close();
    await dispatcher.close();
    await emulator.close();
  }
  const base = median((samples.get("request() + stream") ?? []).map((s) => s.seconds));
  const rows: Row[] = [...samples].map(([run, list]) => {
    const seconds = median(list.map((s) => s.seconds));
    return {
      run,
      bottles: count,
      MiB: Math.round(bytes / MiB),
      runs: list.length,
      "median s": seconds.toFixed(2),
      "MiB/s": (bytes / MiB / seconds).toFixed(1),
      "CPU s": median(list.map((s) => s.cpu)).toFixed(2),
      "vs request()": (base / seconds).toFixed(2),
    };
  });
  await save("http-body", { totalMiB, count, concurrency, runs, node: process.version, rows });
  return rows;
}
