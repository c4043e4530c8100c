#!/usr/bin/env node
// The installed CLI. It runs the JavaScript bundle in dist/cli (built by scripts/setup.sh, or
// `npm run build:cli`), which starts in a fraction of the time tsx needs to transpile src/.
// When that build is missing or older than the sources (bin/fresh-build.js compares every input's size
// and mtime), it runs src/ through tsx instead: slower, never stale. HBSYNC_FROM_SOURCE=1 forces that.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { freshBuild } from "./fresh-build.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const build = process.env.HBSYNC_FROM_SOURCE === "1" ? { stale: "HBSYNC_FROM_SOURCE=1" } : freshBuild(root);
if ("entry" in build) {
  await import(pathToFileURL(build.entry).href);
} else {
  if (process.stderr.isTTY && process.env.HBSYNC_FROM_SOURCE !== "1") {
    process.stderr.write(
      `hbsync: ${build.stale}; running src/ through tsx (slow start; \`npm run build:cli\` fixes it)\n`,
    );
  }
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(root, "src/cli/main.ts")).href);
}
