/**
 * Vitest global set-up: tests that spawn `bin/hbsync.js` run the built CLI (dist/cli), as a user does, so
 * rebuild it first when it no longer matches src/ (bin/fresh-build.js; ~1 s, nothing when it is fresh).
 * bin/hbsync.js would otherwise fall back to running src/ through tsx: the same code, not the same program.
 */
import { fileURLToPath } from "node:url";
import { freshBuild } from "../../bin/fresh-build.js";
import { buildCli } from "../../scripts/build.ts";

export default async function setup(): Promise<void> {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  if ("stale" in freshBuild(root)) await buildCli(root);
}
