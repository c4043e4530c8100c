import { createHash } from "node:crypto";
import { access, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { formatDiagnostic, loadConfigOrThrow, UnknownEnvironmentError } from "../config/index.ts";
import { MirrorSchema } from "../config/schema.ts";
import { parseTagsFlag } from "../config/tags.ts";
import type { MirrorConfig } from "../config/types.ts";
import { HomebrewApiClient } from "../homebrew/api-client.ts";
import { loadTrustedKey, parsePublicKeyPem } from "../homebrew/keys.ts";
import { RegistryClient } from "../homebrew/registry-client.ts";
import { UsageError } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { openStore } from "../storage/open.ts";
import { NoMirrorError } from "./errors.ts";
import type { MirrorSettings } from "./prepare.ts";
import { STATE_KEY } from "./state.ts";

/** What the mirror commands accept on the command line (DESIGN.md §8); each overrides config.yaml. */
export interface MirrorFlags {
  config?: string;
  /** True when --config was given (a missing default config.yaml then means "use the defaults"). */
  configExplicit?: boolean;
  env?: string;
  dest?: string;
  tags?: string;
  upstreamApi?: string;
  upstreamRegistry?: string;
  trustedKey?: string;
  checkers?: string;
  transfers?: string;
  /** Overrides mirror.upstream.brew_git (sync only). */
  upstreamBrewGit?: string;
}

export interface ResolvedMirror {
  settings: MirrorSettings;
  upstream: { api: string; registry: string; trustedKey: string; proxy?: string };
  dest: string;
  /** mirror.brew_git: the repository to mirror, or null when brew's git is not mirrored. */
  brewGit: { upstream: string } | null;
  /** Config warnings, formatted. */
  warnings: string[];
}

export const DEFAULT_DEST = "./mirror";

/** config.yaml's `mirror` section (or its defaults when there is no config file) + flags. */
export async function resolveMirror(flags: MirrorFlags, cwd: string): Promise<ResolvedMirror> {
  const configPath = flags.config ?? "config.yaml";
  let mirror: MirrorConfig;
  const warnings: string[] = [];
  if ((await exists(resolve(cwd, configPath))) || flags.configExplicit) {
    const loaded = await loadConfigOrThrow(configPath, { cwd });
    mirror = loaded.config.mirror;
    for (const warning of loaded.warnings) warnings.push(formatDiagnostic(warning));
    if (flags.env !== undefined && !Object.hasOwn(loaded.config.environments, flags.env)) {
      throw new UnknownEnvironmentError(flags.env, Object.keys(loaded.config.environments), configPath);
    }
  } else {
    mirror = MirrorSchema.parse({});
  }
  const tags = flags.tags === undefined ? [...mirror.tags] : parseTagsFlag(flags.tags);
  const settings: MirrorSettings = {
    tags,
    include: [...mirror.formulae.include],
    exclude: [...mirror.formulae.exclude],
    retentionDays: mirror.retention_days,
    layouts: [...mirror.layouts],
    concurrency: {
      checkers: positive(flags.checkers, "--checkers") ?? mirror.concurrency.checkers,
      transfers: positive(flags.transfers, "--transfers") ?? mirror.concurrency.transfers,
    },
  };
  if (flags.upstreamBrewGit !== undefined && !mirror.brew_git) {
    warnings.push("--upstream-brew-git has no effect: mirror.brew_git is false in the config");
  }
  const upstreamApi = checkUrl(flags.upstreamApi, "--upstream-api");
  const upstreamRegistry = checkUrl(flags.upstreamRegistry, "--upstream-registry");
  return {
    settings,
    upstream: {
      api: upstreamApi ?? mirror.upstream.api,
      registry: upstreamRegistry ?? mirror.upstream.registry,
      trustedKey: flags.trustedKey ?? mirror.upstream.trusted_key,
      ...(mirror.upstream.proxy === undefined ? {} : { proxy: mirror.upstream.proxy }),
    },
    dest: flags.dest ?? DEFAULT_DEST,
    brewGit: mirror.brew_git
      ? { upstream: checkGitUrl(flags.upstreamBrewGit) ?? mirror.upstream.brew_git }
      : null,
    warnings,
  };
}

export { parseTagsFlag, splitList } from "../config/tags.ts";

/** A git URL for --upstream-brew-git: https://, http://, ssh:// or file:// (or an absolute path). */
function checkGitUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (isAbsolute(value)) return value;
  const protocol = URL.canParse(value) ? new URL(value).protocol : "";
  if (!["https:", "http:", "ssh:", "file:"].includes(protocol)) {
    throw new UsageError(`--upstream-brew-git must be a git URL, got ${JSON.stringify(value)}`, {
      fix: "give an https://, ssh:// or file:// URL (or an absolute path), e.g. https://github.com/Homebrew/brew.git",
    });
  }
  return value;
}

/**
 * Where the brew git phase keeps its local bare repository: `$XDG_CACHE_HOME/hbsync/brew-git/<hash>.git`
 * (default `~/.cache`), one per mirror and upstream. Only a cache: an empty one is rebuilt from the packs
 * the store already holds, so deleting it costs a download from the store, never a re-publish.
 */
export function brewGitWorkDir(
  location: string,
  upstream: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const root = env.XDG_CACHE_HOME?.trim() || join(env.HOME?.trim() || homedir(), ".cache");
  const id = createHash("sha256").update(`${location}\n${upstream}`).digest("hex").slice(0, 16);
  return join(root, "hbsync", "brew-git", `${id}.git`);
}

function checkUrl(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} is not a URL: ${JSON.stringify(value)}`, {
      fix: `give an http(s) URL, e.g. ${flag} https://…`,
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError(`${flag} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  return value;
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > 64) {
    throw new UsageError(`${flag} must be a whole number from 1 to 64, got ${JSON.stringify(value)}`);
  }
  return number;
}

/**
 * The Homebrew API and registry clients for the resolved upstream, through `mirror.upstream.proxy` or
 * the proxy `env` names (HTTPS_PROXY / HTTP_PROXY, minus NO_PROXY).
 */
export async function upstreamClients(
  upstream: ResolvedMirror["upstream"],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ api: HomebrewApiClient; registry: RegistryClient }> {
  const trustedKey =
    upstream.trustedKey === "builtin"
      ? await loadTrustedKey("builtin")
      : upstream.trustedKey.includes("-----BEGIN")
        ? parsePublicKeyPem(upstream.trustedKey, "--trusted-key")
        : await loadTrustedKey(
            isAbsolute(upstream.trustedKey) ? upstream.trustedKey : resolve(cwd, upstream.trustedKey),
          );
  const http = { env, ...(upstream.proxy === undefined ? {} : { proxy: upstream.proxy }) };
  return {
    api: new HomebrewApiClient({ apiBase: upstream.api, trustedKey, http }),
    registry: new RegistryClient({ registryBase: upstream.registry, http }),
  };
}

/**
 * Opens `--dest`: `s3://bucket/prefix` (endpoint, region and credentials from `env`, so tests and the
 * CLI can point it at s3rver) or a folder resolved against `cwd`.
 */
export function openDestination(dest: string, cwd: string, env: NodeJS.ProcessEnv = process.env): BlobStore {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const credentials =
    accessKeyId && secretAccessKey
      ? {
          accessKeyId,
          secretAccessKey,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        }
      : undefined;
  return openStore(dest, { cwd, env, ...(credentials ? { s3: { clientConfig: { credentials } } } : {}) });
}

/**
 * Opens `--dest` for a command that reads an existing mirror (verify): a folder that does not exist is
 * refused with NoMirrorError naming it, rather than created empty by the store.
 */
export async function openExistingDestination(
  dest: string,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BlobStore> {
  if (!dest.startsWith("s3://") && dest.trim() !== "") {
    const path = resolve(cwd, dest);
    const info = await stat(path).catch(() => null);
    if (info === null) throw new NoMirrorError(path, "the folder does not exist");
    if (!info.isDirectory()) throw new NoMirrorError(path, "it is a file, not a folder");
    // Checked here too (verifyMirror checks any store), so a folder that is no mirror stays untouched.
    if (!(await exists(join(path, STATE_KEY)))) {
      throw new NoMirrorError(path, `${STATE_KEY} does not exist (no sync has written here)`);
    }
  }
  return openDestination(dest, cwd, env);
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
