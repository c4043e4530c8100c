import { createHash } from "node:crypto";
import type { BottleRef } from "../homebrew/types.ts";

/**
 * The OCI image index GHCR serves for `<image>/manifests/<version_rebuild>`, shaped as Homebrew/brew
 * github_packages.rb `upload_bottle` writes it: one descriptor per bottle tag with platform and the
 * annotations `org.opencontainers.image.ref.name` (`<pkg_version>.<tag>[.<rebuild>]`),
 * `sh.brew.bottle.digest`, `sh.brew.bottle.size` and `sh.brew.tab` (the bottle's Tab#to_bottle_hash,
 * which brew uses for the receipt when its `built_on.os` is the client's).
 */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

const MACOS_VERSIONS: Record<string, string> = {
  tahoe: "26",
  sequoia: "15",
  sonoma: "14",
  ventura: "13",
  monterey: "12",
  big_sur: "11",
  catalina: "10.15",
  mojave: "10.14",
  high_sierra: "10.13",
  sierra: "10.12",
  el_capitan: "10.11",
  yosemite: "10.10",
};

export function platformOf(tag: string): Record<string, string> {
  if (tag === "all") return { architecture: "all", os: "all" };
  const arm = tag.startsWith("arm64_");
  if (tag.endsWith("_linux")) {
    return { architecture: arm ? "arm64" : "amd64", os: "linux", "os.version": "Ubuntu 22.04" };
  }
  const macos = MACOS_VERSIONS[tag.replace(/^arm64_/, "")];
  return {
    architecture: arm ? "arm64" : "amd64",
    os: "darwin",
    ...(macos ? { "os.version": `macOS ${macos}` } : {}),
  };
}

export function refName(bottle: Pick<BottleRef, "pkgVersion" | "tag" | "rebuild">): string {
  return `${bottle.pkgVersion}.${bottle.tag}${bottle.rebuild > 0 ? `.${bottle.rebuild}` : ""}`;
}

export function renderManifest(
  bottles: ReadonlyArray<BottleRef & { size: number; tab: Record<string, unknown> }>,
): Buffer {
  const first = bottles[0];
  if (!first) throw new Error("a manifest needs at least one bottle");
  const manifests = bottles.map((bottle) => {
    const platform = platformOf(bottle.tag);
    const tab = bottle.tab;
    const childDigest = createHash("sha256")
      .update(`${bottle.image}:${refName(bottle)}`)
      .digest("hex");
    return {
      mediaType: OCI_MANIFEST,
      digest: `sha256:${childDigest}`,
      size: 1500,
      platform,
      annotations: {
        "org.opencontainers.image.ref.name": refName(bottle),
        "sh.brew.bottle.digest": bottle.sha256,
        "sh.brew.bottle.size": String(bottle.size),
        "sh.brew.tab": JSON.stringify(tab),
      },
    };
  });
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests,
    annotations: {
      "com.github.package.type": "homebrew_bottle",
      "org.opencontainers.image.ref.name": first.versionRebuild,
      "org.opencontainers.image.title": first.formula,
      "org.opencontainers.image.version": first.pkgVersion,
    },
  };
  return Buffer.from(JSON.stringify(index, null, 2), "utf8");
}
