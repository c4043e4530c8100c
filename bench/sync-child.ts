/**
 * The sync engine alone, as a child process for the benchmarks: the same code path as `hbsync sync`
 * (syncMirror + the real clients + openStore) without loading every CLI command module, so its wall
 * time and RSS measure the engine rather than CLI start-up. Prints the run report as JSON.
 *   tsx bench/sync-child.ts <api> <registry> <public-key.pem> <dest> <tag> <transfers>
 * HBSYNC_BENCH_FS='{"flushMode":"files",…}' opens a folder with those FsStore options.
 */
import { HomebrewApiClient } from "../src/homebrew/api-client.ts";
import { loadTrustedKey } from "../src/homebrew/keys.ts";
import { RegistryClient } from "../src/homebrew/registry-client.ts";
import { newRunId } from "../src/mirror/report.ts";
import { openDestination } from "../src/mirror/setup.ts";
import { syncMirror } from "../src/mirror/sync.ts";
import type { BlobStore } from "../src/storage/blob-store.ts";
import { FsStore, type FsStoreOptions } from "../src/storage/fs.ts";

const [api = "", registry = "", keyPath = "", dest = "", tag = "", transfers = "4"] = process.argv.slice(2);
// HBSYNC_BENCH_FS: FsStore options as JSON (the bench measures each of the store's levers on its own).
const fsOptions = process.env.HBSYNC_BENCH_FS;
const store =
  fsOptions && !dest.startsWith("s3://")
    ? (new FsStore(dest, JSON.parse(fsOptions) as FsStoreOptions) as BlobStore)
    : openDestination(dest, process.cwd());
const { report } = await syncMirror({
  store,
  api: new HomebrewApiClient({ apiBase: api, trustedKey: await loadTrustedKey(keyPath) }),
  registry: new RegistryClient({ registryBase: registry }),
  settings: {
    tags: [tag],
    include: [],
    exclude: [],
    retentionDays: 7,
    concurrency: { checkers: 8, transfers: Number(transfers) },
  },
  runId: newRunId(),
});
await store.close?.();
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exitCode = report.status === "succeeded" ? 0 : 1;
