/**
 * The real hashicorp/aws provider for the Terraform tests, from a filesystem mirror on this machine (the
 * build machines cannot download it). Where none is found the tests that need it skip, saying how to
 * enable them; `HBSYNC_TERRAFORM_MIRROR` names one explicitly (then a missing provider is an error, not
 * a skip; `none` turns the search off, as on a machine without a mirror).
 *
 * A mirror is the directory layout `terraform providers mirror <dir>` writes (packed: `.zip` files) or
 * the unpacked plugin-cache layout:
 *   <dir>/registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/terraform-provider-aws_v<version>_x5
 *   <dir>/registry.terraform.io/hashicorp/aws/terraform-provider-aws_<version>_<os>_<arch>.zip
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

export const MIRROR_ENV = "HBSYNC_TERRAFORM_MIRROR";
const PROVIDER_DIR = ["registry.terraform.io", "hashicorp", "aws"];

export interface ProviderMirror {
  dir: string;
  /** Versions of hashicorp/aws for this platform, e.g. ["5.100.0"]. */
  versions: string[];
}

/** Terraform's name for this platform: linux_amd64, darwin_arm64, … */
export function terraformPlatform(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch === "ia32" ? "386" : process.arch;
  return `${process.platform === "win32" ? "windows" : process.platform}_${arch}`;
}

/** Where to look, in order: the explicit override, then the places Terraform itself uses. */
export function candidateMirrorDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? homedir();
  const dataHome = env.XDG_DATA_HOME ?? join(home, ".local/share");
  if (env[MIRROR_ENV] === "none") return [];
  return [
    ...(env[MIRROR_ENV] ? [env[MIRROR_ENV]] : []),
    "/opt/tf-plugins",
    join(home, ".terraform.d/plugins"),
    join(dataHome, "terraform/plugins"),
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
  ];
}

/** The hashicorp/aws versions a mirror directory holds for this platform (packed or unpacked). */
export function awsProviderVersionsIn(dir: string, platform = terraformPlatform()): string[] {
  const root = join(dir, ...PROVIDER_DIR);
  if (!existsSync(root)) return [];
  const versions = new Set<string>();
  for (const entry of readdirSync(root)) {
    const packed = new RegExp(`^terraform-provider-aws_(\\d+\\.\\d+\\.\\d+)_${platform}\\.zip$`).exec(entry);
    if (packed?.[1]) versions.add(packed[1]);
    const unpacked = join(root, entry, platform);
    if (/^\d+\.\d+\.\d+$/.test(entry) && existsSync(unpacked) && statSync(unpacked).isDirectory()) {
      if (readdirSync(unpacked).some((name) => name.startsWith("terraform-provider-aws_")))
        versions.add(entry);
    }
  }
  return [...versions].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

/**
 * The first candidate holding hashicorp/aws, or undefined. An explicit HBSYNC_TERRAFORM_MIRROR without
 * the provider throws: somebody asked for these tests to run.
 */
export function findAwsProviderMirror(env: NodeJS.ProcessEnv = process.env): ProviderMirror | undefined {
  const explicit = env[MIRROR_ENV];
  if (explicit === "none") return undefined;
  if (explicit && awsProviderVersionsIn(explicit).length === 0) {
    throw new Error(
      `${MIRROR_ENV}=${explicit} holds no hashicorp/aws provider for ${terraformPlatform()} (expected ${join(explicit, ...PROVIDER_DIR)}/<version>/${terraformPlatform()}/ or a .zip from \`terraform providers mirror\`)`,
    );
  }
  for (const dir of candidateMirrorDirs(env)) {
    const versions = awsProviderVersionsIn(dir);
    if (versions.length > 0) return { dir, versions };
  }
  return undefined;
}

/** Why the provider tests were skipped and how to run them. */
export function noMirrorMessage(env: NodeJS.ProcessEnv = process.env): string {
  const searched = candidateMirrorDirs(env);
  return (
    `no hashicorp/aws provider found for ${terraformPlatform()}${searched.length ? ` in ${searched.join(", ")}` : ` (${MIRROR_ENV}=none)`}. ` +
    `To run the tests against the real provider schema, make a filesystem mirror on a machine with internet ` +
    `(\`terraform providers mirror -platform=${terraformPlatform()} <dir>\` in infra/terraform/environments/dev) ` +
    `and set ${MIRROR_ENV}=<dir>`
  );
}

/** A CLI configuration that installs hashicorp/aws from the mirror and nothing from the network. */
export async function writeMirrorCliConfig(dir: string, mirror: ProviderMirror): Promise<string> {
  const path = join(dir, "mirror.tfrc");
  await writeFile(
    path,
    [
      "provider_installation {",
      "  filesystem_mirror {",
      `    path    = ${JSON.stringify(mirror.dir)}`,
      '    include = ["registry.terraform.io/hashicorp/aws"]',
      "  }",
      "}",
      "",
    ].join("\n"),
  );
  return path;
}

export interface TerraformWorkspace {
  /** The copy of infra/terraform (terraform init writes .terraform/ and lock files: never into the repo). */
  root: string;
  cliConfig: string;
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** A temp copy of `terraformDir` and the environment to run terraform there with the mirror. */
export async function mirrorWorkspace(
  terraformDir: string,
  mirror: ProviderMirror,
): Promise<TerraformWorkspace> {
  const base = await mkdtemp(join(tmpdir(), "hbsync-tf-provider-"));
  const root = join(base, "terraform");
  await cp(terraformDir, root, {
    recursive: true,
    filter: (source) => !source.split("/").some((part) => part === ".terraform" || part.endsWith(".tfstate")),
  });
  const cliConfig = await writeMirrorCliConfig(base, mirror);
  return {
    root,
    cliConfig,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TF_CLI_CONFIG_FILE: cliConfig,
      TF_IN_AUTOMATION: "1",
      TF_INPUT: "0",
      CHECKPOINT_DISABLE: "1",
    },
    close: () => rm(base, { recursive: true, force: true }),
  };
}
