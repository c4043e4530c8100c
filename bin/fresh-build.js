// Is the built CLI (dist/cli, made by `npm run build:cli`, which scripts/setup.sh runs) still the code in
// src/? Plain JavaScript: bin/hbsync.js asks before anything is transpiled.
//
// dist/cli/inputs.json lists every file the bundle was made from — each src/ module esbuild read, the
// build script, package-lock.json and node_modules/.package-lock.json (rewritten by every npm install) —
// with its size and mtime at build time. The build is fresh only if every one still has exactly that size
// and mtime (older or newer: an edit, a checkout, a restore from backup are all differences). A module
// added later is only reached through an import in a listed file, which then differs too.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export const CLI_BUILD_DIR = "dist/cli";
export const CLI_ENTRY = "main.js";
export const CLI_INPUTS = "inputs.json";

/**
 * The built entry point (an absolute path) when the build under `root` matches the sources, else why
 * not (`{ stale: "…" }`, safe to print).
 * @param {string} root the repository (the folder holding src/ and dist/)
 * @returns {{ entry: string } | { stale: string }}
 */
export function freshBuild(root) {
  const dir = join(root, CLI_BUILD_DIR);
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(join(dir, CLI_INPUTS), "utf8")).inputs;
  } catch {
    return { stale: `${CLI_BUILD_DIR} is missing` };
  }
  if (!Array.isArray(inputs) || inputs.length === 0)
    return { stale: `${CLI_BUILD_DIR}/${CLI_INPUTS} is unreadable` };
  for (const [path, size, mtimeMs] of inputs) {
    let stats;
    try {
      stats = statSync(join(root, path));
    } catch {
      return { stale: `${path} was removed since the build` };
    }
    if (stats.size !== size || stats.mtimeMs !== mtimeMs) return { stale: `${path} changed since the build` };
  }
  return { entry: join(dir, CLI_ENTRY) };
}
