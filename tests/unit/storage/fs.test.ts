import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsStore } from "../../../src/storage/fs.ts";
import { runBlobStoreConformance } from "./conformance.ts";

runBlobStoreConformance("FsStore", async () => {
  const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-"));
  const root = join(parent, "store");
  return {
    store: new FsStore(root),
    // Temp files left in <root>/.tmp, and anything written next to the root (an escaped `../x`).
    leftovers: async () => [
      ...(await readdir(join(root, ".tmp")).catch(() => [])),
      ...(await readdir(parent)).filter((name) => name !== "store"),
    ],
    cleanup: () => rm(parent, { recursive: true, force: true }),
  };
});
