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
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build as esbuild } from "esbuild";
import yazl from "yazl";

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
  const manifest = await buildFunctions();
  for (const fn of manifest.functions) {
    process.stdout.write(
      `${fn.file.padEnd(18)} ${(fn.size / 1024).toFixed(0).padStart(6)} KiB  sha256 ${fn.sha256}\n`,
    );
  }
  process.stdout.write(`dist/manifest.json (git ${manifest.gitSha})\n`);
}
