/**
 * `npm run build`: one esbuild bundle per function, zipped, with a manifest — the artifacts the pipeline
 * uploads to s3://<artifacts>/artifacts/<git sha>/ and Terraform deploys by `artifact_version`.
 *
 *   dist/<function>/index.mjs (+ .map, keys/homebrew-1.pem)   orchestrator, worker (handler index.handler)
 *   dist/ecs-task/task.mjs (+ .map, keys/homebrew-1.pem)       copied into the ECS image (docker/Dockerfile)
 *   dist/<function>.zip                                         what Lambda runs / what the image is built from
 *   dist/manifest.json                                          {gitSha, builtAt, functions: [{name, file, sha256, size}]}
 *
 * ESM, Node 22, minified, external source maps; the AWS SDK is bundled (the runtime's own copy is not
 * pinned). ESM bundles of CommonJS dependencies need `require` (DESIGN.md §7): the banner provides it.
 * Homebrew's public key is read at run time relative to the module (src/homebrew/keys.ts), so it is
 * copied to `keys/homebrew-1.pem` beside each bundle.
 *
 * `npm run build:cli` (scripts/setup.sh runs it) builds the CLI that bin/hbsync.js runs:
 *
 *   dist/cli/main.js + chunks (+ .map, keys/homebrew-1.pem)   one chunk per lazily imported command
 *   dist/cli/inputs.json                                       every input's size and mtime (bin/fresh-build.js)
 *
 * ESM for Node 20, whitespace-minified (less to parse at start-up; names kept for stack traces), dependencies bundled
 * except the two that load files relative to themselves (vitest; @cdktf/hcl2json's wasm), which resolve
 * from node_modules at run time. `--cli-if-stale` rebuilds only when bin/fresh-build.js says so.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build as esbuild } from "esbuild";
import yazl from "yazl";
import { CLI_BUILD_DIR, CLI_ENTRY, CLI_INPUTS, freshBuild } from "../bin/fresh-build.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const KEY_SOURCE = join(ROOT, "src/homebrew/keys/homebrew-1.pem");
/** Fixed zip entry times: the same bundle gives the same zip (and sha256). */
const ZIP_TIME = new Date("2020-01-01T00:00:00Z");

export interface FunctionSpec {
  name: string;
  entry: string;
  /** The bundle's file name inside its folder and zip. */
  file: string;
}

export const FUNCTIONS: readonly FunctionSpec[] = [
  { name: "orchestrator", entry: "src/runtime/lambda/orchestrator.ts", file: "index.mjs" },
  { name: "worker", entry: "src/runtime/lambda/worker.ts", file: "index.mjs" },
  { name: "ecs-task", entry: "src/runtime/ecs/task.ts", file: "task.mjs" },
];

export interface BuiltFunction {
  name: string;
  /** The zip, relative to the output folder. */
  file: string;
  sha256: string;
  size: number;
  /** The bundle (relative to the output folder) and its size before zipping. */
  bundle: string;
  bundleSize: number;
}

export interface BuildManifest {
  gitSha: string;
  builtAt: string;
  functions: BuiltFunction[];
}

export interface BuildOptions {
  /** Default: <repo>/dist. */
  outDir?: string;
  /** Default: every function. */
  only?: string[];
  gitSha?: string;
}

const BANNER = [
  'import { createRequire as __hbsyncCreateRequire } from "node:module";',
  'import { fileURLToPath as __hbsyncFileURLToPath } from "node:url";',
  'import { dirname as __hbsyncDirname } from "node:path";',
  "const require = __hbsyncCreateRequire(import.meta.url);",
  "const __filename = __hbsyncFileURLToPath(import.meta.url);",
  "const __dirname = __hbsyncDirname(__filename);",
].join("\n");

export async function buildFunctions(options: BuildOptions = {}): Promise<BuildManifest> {
  const outDir = resolve(options.outDir ?? join(ROOT, "dist"));
  const specs = FUNCTIONS.filter((spec) => !options.only || options.only.includes(spec.name));
  await mkdir(outDir, { recursive: true });
  const functions: BuiltFunction[] = [];
  for (const spec of specs) {
    const folder = join(outDir, spec.name);
    await rm(folder, { recursive: true, force: true });
    await esbuild({
      entryPoints: [join(ROOT, spec.entry)],
      outfile: join(folder, spec.file),
      bundle: true,
      platform: "node",
      target: "node22",
      format: "esm",
      minify: true,
      sourcemap: "external",
      sourcesContent: false,
      banner: { js: BANNER },
      legalComments: "none",
      logLevel: "warning",
    });
    await mkdir(join(folder, "keys"), { recursive: true });
    await copyFile(KEY_SOURCE, join(folder, "keys/homebrew-1.pem"));
    const zipName = `${spec.name}.zip`;
    await zipFolder(folder, [spec.file, `${spec.file}.map`, "keys/homebrew-1.pem"], join(outDir, zipName));
    const zipped = await readFile(join(outDir, zipName));
    functions.push({
      name: spec.name,
      file: zipName,
      sha256: createHash("sha256").update(zipped).digest("hex"),
      size: zipped.byteLength,
      bundle: `${spec.name}/${spec.file}`,
      bundleSize: (await stat(join(folder, spec.file))).size,
    });
  }
  const manifest: BuildManifest = {
    gitSha: options.gitSha ?? gitSha(),
    builtAt: new Date().toISOString(),
    functions,
  };
  await writeFile(join(outDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export interface CliBuild {
  /** The entry point bin/hbsync.js runs. */
  entry: string;
  /** How many files the bundle was made from (listed in inputs.json). */
  inputs: number;
}

/** Files outside the import graph that a CLI build depends on. */
const CLI_EXTRA_INPUTS = [
  "scripts/build.ts",
  "bin/fresh-build.js",
  "src/homebrew/keys/homebrew-1.pem",
  "package-lock.json",
  "node_modules/.package-lock.json",
];

/**
 * Builds dist/cli (see the header). Written to a sibling folder and renamed into place, so a concurrent
 * `bin/hbsync.js` sees either the old build, no build (and runs src/ through tsx), or the new one.
 */
export async function buildCli(root: string = ROOT): Promise<CliBuild> {
  const target = join(root, CLI_BUILD_DIR);
  const staging = `${target}.${process.pid}.tmp`;
  for (let attempt = 1; ; attempt += 1) {
    const started = Date.now();
    await rm(staging, { recursive: true, force: true });
    const result = await esbuild({
      entryPoints: { main: join(root, "src/cli/main.ts") },
      outdir: staging,
      entryNames: "[name]",
      chunkNames: "[name]-[hash]",
      bundle: true,
      splitting: true,
      platform: "node",
      target: "node20",
      format: "esm",
      external: ["vitest", "vitest/*", "@cdktf/hcl2json"],
      // Whitespace and syntax only: identifiers stay, so a stack trace still names functions.
      minifyWhitespace: true,
      minifySyntax: true,
      sourcemap: "external",
      sourcesContent: false,
      banner: { js: BANNER },
      legalComments: "none",
      logLevel: "warning",
      metafile: true,
      absWorkingDir: root,
    });
    await mkdir(join(staging, "keys"), { recursive: true });
    await copyFile(join(root, "src/homebrew/keys/homebrew-1.pem"), join(staging, "keys/homebrew-1.pem"));
    const files = [
      ...Object.keys(result.metafile.inputs).filter((file) => !file.includes("node_modules/")),
      ...CLI_EXTRA_INPUTS,
    ];
    const inputs: Array<[string, number, number]> = [];
    let changedDuringBuild = false;
    for (const file of [...new Set(files)].sort()) {
      const stats = await stat(join(root, file)).catch(() => undefined);
      if (stats === undefined) continue;
      if (stats.mtimeMs >= started) changedDuringBuild = true;
      inputs.push([file, stats.size, stats.mtimeMs]);
    }
    // A source saved while esbuild read it may be in the bundle in its old form: build again.
    if (changedDuringBuild && attempt < 3) continue;
    await writeFile(
      join(staging, CLI_INPUTS),
      `${JSON.stringify({ builtAt: new Date().toISOString(), inputs })}\n`,
    );
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
    return { entry: join(target, CLI_ENTRY), inputs: inputs.length };
  }
}

async function zipFolder(folder: string, files: string[], target: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const file of files) {
    zip.addBuffer(await readFile(join(folder, file)), file, { mtime: ZIP_TIME, mode: 0o100644 });
  }
  zip.end();
  await new Promise<void>((resolvePromise, reject) => {
    const output = createWriteStream(target);
    output.on("close", () => resolvePromise());
    output.on("error", reject);
    zip.outputStream.on("error", reject).pipe(output);
  });
}

/** GITHUB_SHA in CI, else `git rev-parse HEAD`, else "unknown" (a source tarball). */
function gitSha(): string {
  const fromEnv = process.env.GITHUB_SHA?.trim() || process.env.GIT_SHA?.trim();
  if (fromEnv) return fromEnv;
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "unknown";
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const cliOnly = process.argv.includes("--cli") || process.argv.includes("--cli-if-stale");
  if (process.argv.includes("--cli-if-stale") && "entry" in freshBuild(ROOT)) {
    process.stdout.write(`${CLI_BUILD_DIR} is up to date\n`);
  } else {
    const cli = await buildCli();
    process.stdout.write(`${CLI_BUILD_DIR}/${CLI_ENTRY} (${cli.inputs} inputs)\n`);
  }
  if (!cliOnly) await buildAll();
}

async function buildAll(): Promise<void> {
  const manifest = await buildFunctions();
  for (const fn of manifest.functions) {
    process.stdout.write(
      `${fn.file.padEnd(18)} ${(fn.size / 1024).toFixed(0).padStart(6)} KiB  sha256 ${fn.sha256}\n`,
    );
  }
  process.stdout.write(`dist/manifest.json (git ${manifest.gitSha})\n`);
}
