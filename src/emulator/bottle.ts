import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { blockOf } from "./blob-source.ts";
import { platformOf } from "./oci.ts";

/**
 * A real bottle, as `brew bottle` lays one out (Homebrew/brew dev-cmd/bottle.rb): a gzipped tar of
 * `<name>/<pkg_version>/` holding `INSTALL_RECEIPT.json` (Tab#to_json with the fields a bottle's receipt
 * has: tab/tab.rb), an executable `bin/<name>` that prints who it is, and, to reach the size asked for,
 * `share/<name>/payload.bin` (pseudo-random bytes). Same spec, same bytes: entries carry a fixed mtime,
 * mode and numeric owner 0, and the gzip header no name or time. The deflate stream uses stored blocks
 * (level 0): the payload would not compress anyway, and the bottle's size then follows the one asked for.
 */
export interface BottleSpec {
  name: string;
  pkgVersion: string;
  stableVersion: string;
  /** The file key the bottle is listed under (`arm64_sequoia`, `all`, …). */
  tag: string;
  /** Runtime dependencies, as brew writes them in the receipt (`Tab.runtime_deps_hash`). */
  runtimeDependencies: RuntimeDependency[];
  /** Approximate bottle size in bytes (at least what the receipt and script take). */
  size: number;
  /** Seeds the payload bytes. */
  id: string;
}

export interface RuntimeDependency {
  full_name: string;
  version: string;
  revision: number;
  bottle_rebuild: number;
  pkg_version: string;
  declared_directly: boolean;
}

/** brew refuses mtimes before 1970 and uses the source's; this is 2024-01-01T00:00:00Z. */
export const SOURCE_MODIFIED_TIME = 1_704_067_200;
const HOMEBREW_VERSION = "6.0.18";
const BLOCK = 512;
const roundUp = (bytes: number): number => Math.ceil(bytes / BLOCK) * BLOCK;

/** `sh.brew.tab` (Tab#to_bottle_hash): the receipt fields the registry manifest repeats. */
export function bottleTab(spec: BottleSpec): Record<string, unknown> {
  const { arch, builtOn } = platform(spec.tag);
  return {
    homebrew_version: HOMEBREW_VERSION,
    changed_files: [],
    source_modified_time: SOURCE_MODIFIED_TIME,
    compiler: builtOn.os === "Linux" ? "gcc-12" : "clang",
    runtime_dependencies: spec.runtimeDependencies,
    arch,
    built_on: builtOn,
  };
}

/** The receipt as `tab.write` leaves it in the keg before `brew bottle` tars it (JSON.pretty_generate). */
export function installReceipt(spec: BottleSpec): string {
  const tab = bottleTab(spec);
  const receipt = {
    homebrew_version: tab.homebrew_version,
    used_options: [],
    unused_options: [],
    built_as_bottle: true,
    poured_from_bottle: false,
    loaded_from_api: false,
    loaded_from_internal_api: false,
    installed_on_request: false,
    changed_files: tab.changed_files,
    time: null,
    source_modified_time: tab.source_modified_time,
    compiler: tab.compiler,
    aliases: [],
    runtime_dependencies: tab.runtime_dependencies,
    source: {
      spec: "stable",
      versions: { stable: spec.stableVersion, head: null, version_scheme: 0, compatibility_version: null },
      path: `@@HOMEBREW_REPOSITORY@@/Library/Taps/homebrew/homebrew-core/Formula/${spec.name}.rb`,
      tap_git_head: null,
      tap: "homebrew/core",
    },
    arch: tab.arch,
    built_on: tab.built_on,
  };
  return `${JSON.stringify(receipt, null, 2)}\n`;
}

/** The `bin/<name>` script: prints the formula, version and tag, so an installed bottle proves itself. */
export function binScript(spec: Pick<BottleSpec, "name" | "pkgVersion" | "tag">): string {
  return `#!/bin/sh\necho "${spec.name} ${spec.pkgVersion} (${spec.tag} bottle from the hbsync emulator)"\n`;
}

/** The bottle's bytes (a gzipped tar), deterministic from `spec`. */
export async function buildBottle(spec: BottleSpec): Promise<Buffer> {
  const root = `${spec.name}/${spec.pkgVersion}`;
  const receipt = Buffer.from(installReceipt(spec), "utf8");
  const script = Buffer.from(binScript(spec), "utf8");
  // 9 entry headers, the receipt and script padded to 512, 2 end-of-archive blocks; gzip adds 18 bytes
  // and 5 per stored block of up to 64 KiB. The payload fills the rest of the size asked for.
  const fixed = 11 * BLOCK + roundUp(receipt.length) + roundUp(script.length);
  const payloadSize = Math.max(
    0,
    Math.floor((spec.size - fixed - 18 - 5 * Math.ceil(spec.size / 65_535)) / BLOCK) * BLOCK,
  );
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    archive.on("end", resolve);
    archive.on("error", reject);
  });
  const mtime = new Date(SOURCE_MODIFIED_TIME * 1000);
  const header = { mtime, uid: 0, gid: 0, uname: "", gname: "" };
  const directory = (name: string): void => {
    archive.entry({ ...header, name: `${name}/`, type: "directory", mode: 0o755 });
  };
  directory(spec.name);
  directory(root);
  archive.entry({ ...header, name: `${root}/INSTALL_RECEIPT.json`, mode: 0o644 }, receipt);
  directory(`${root}/bin`);
  archive.entry({ ...header, name: `${root}/bin/${spec.name}`, mode: 0o755 }, script);
  if (payloadSize > 0) {
    directory(`${root}/share`);
    directory(`${root}/share/${spec.name}`);
    archive.entry(
      { ...header, name: `${root}/share/${spec.name}/payload.bin`, mode: 0o644 },
      payload(spec.id, payloadSize),
    );
  }
  archive.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks), { level: 0 });
}

function payload(id: string, size: number): Buffer {
  const block = blockOf({ id: `payload|${id}`, size });
  const out = Buffer.allocUnsafe(size);
  for (let offset = 0; offset < size; offset += block.length)
    block.copy(out, offset, 0, Math.min(block.length, size - offset));
  return out;
}

/** `arch` and `built_on` as a bottle built for `tag` records them (`all` bottles: built on Linux). */
function platform(tag: string): { arch: string; builtOn: Record<string, string> } {
  const oci = platformOf(tag === "all" ? "x86_64_linux" : tag);
  const arch = oci.architecture === "amd64" ? "x86_64" : "arm64";
  if (oci.os === "linux") {
    const cpu = arch === "arm64" ? "arm64" : "x86_64_v2";
    return {
      arch,
      builtOn: { os: "Linux", os_version: oci["os.version"] ?? "", cpu_family: cpu, glibc_version: "2.35" },
    };
  }
  const cpu = arch === "arm64" ? "arm_firestorm_icestorm" : "penryn";
  return { arch, builtOn: { os: "Macintosh", os_version: oci["os.version"] ?? "macOS", cpu_family: cpu } };
}
