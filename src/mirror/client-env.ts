/**
 * The environment of an air-gapped brew client of a mirror (`hbsync client-env`), from what Homebrew/brew
 * reads (Library/Homebrew/env_config.rb, brew.sh, cmd/vendor-install.sh,
 * download_strategy/curl_download_strategy.rb, bottle.rb, cmd/update.sh):
 *
 * - `HOMEBREW_API_DOMAIN=<base>/api`: the signed API files.
 * - flat layout: `HOMEBREW_BOTTLE_DOMAIN=<base>/bottles`: brew asks for
 *   `<domain>/<name>-<version>.<tag>.bottle.tar.gz`, the manifest at `<domain>/<image>/manifests/<version>`
 *   (bottle.rb), and portable Ruby at `<domain>/portable-ruby-<version>.<tag>.bottle.tar.gz`
 *   (vendor-install.sh; mirrored with mirror.brew_git, src/mirror/portable-ruby.ts).
 * - OCI layout: `HOMEBREW_ARTIFACT_DOMAIN=<base>`: brew rewrites `https://ghcr.io/` to `<base>/`, so bottles
 *   come from `<base>/v2/homebrew/core/<image>/blobs/sha256:<sha>`, manifests from `…/manifests/<version>`,
 *   portable Ruby from `<base>/v2/homebrew/core/portable-ruby/blobs/sha256:<sha>`; with
 *   `HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK` brew never retries at ghcr.io. A custom
 *   `HOMEBREW_BOTTLE_DOMAIN` would replace the ghcr.io URLs the rewrite works on, so it is unset.
 * - `HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN=none` (brew.sh): brew then sends no Authorization header.
 *   Without it, vendor-install.sh sends ghcr.io's anonymous `Authorization: Bearer QQ==` to the mirror (and
 *   bottle.rb's manifest requests do in the flat layout), which S3 read directly refuses. `none` is the
 *   value brew documents for the BASIC_AUTH token; `HOMEBREW_DOCKER_REGISTRY_TOKEN=none` would instead
 *   send `Bearer none` (and it wins over the basic token), so that one is unset.
 * - `HOMEBREW_BREW_GIT_REMOTE=<base>/git/brew.git` when the mirror publishes brew's git (mirror.brew_git);
 *   otherwise `HOMEBREW_NO_AUTO_UPDATE=1`, or every `brew install` would first `git fetch` from github.com.
 * - `HOMEBREW_NO_INSTALL_FROM_API` unset: formulae come from the API; homebrew/core's git is not mirrored.
 * - `HOMEBREW_NO_ANALYTICS=1`, `HOMEBREW_NO_GITHUB_API=1`: requests to hosts an offline client cannot reach.
 */
import { UsageError } from "../shared/errors.ts";

export const CLIENT_LAYOUTS = ["flat", "oci"] as const;
export type ClientLayout = (typeof CLIENT_LAYOUTS)[number];

export interface ClientEnvOptions {
  /** The mirror's base URL (what `hbsync serve` prints; CloudFront's `mirror_base_url`). */
  base: string;
  layout: ClientLayout;
  /** The mirror publishes brew's own git at `<base>/git/brew.git`. */
  brewGit: boolean;
}

/** One line of the environment: `value` null means `unset`. */
export interface ClientVariable {
  name: string;
  value: string | null;
  comment: string;
}

export interface ClientEnv {
  base: string;
  layout: ClientLayout;
  brewGit: boolean;
  variables: ClientVariable[];
  /** What the environment cannot do (printed as comments after it). */
  notes: string[];
}

/** Checks and normalises a `--base` URL: http(s), no query or fragment, no trailing slash. */
export function normaliseBase(raw: string): string {
  const usage = (why: string): UsageError =>
    new UsageError(`--base ${why}: ${JSON.stringify(raw)}`, {
      fix: "give the mirror's base URL, e.g. --base https://brew-mirror.example.com (the one `hbsync serve` prints)",
    });
  if (!URL.canParse(raw)) throw usage("is not a URL");
  const url = new URL(raw);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw usage("must be an http(s) URL");
  if (url.search !== "" || url.hash !== "") throw usage("must have no query or fragment");
  if (url.username !== "" || url.password !== "") throw usage("must not carry credentials");
  const base = `${url.origin}${url.pathname}`.replace(/\/+$/, "");
  const tail = base.slice(url.origin.length);
  if (/\/(api|bottles|git|v2)$/.test(tail)) {
    throw usage(`names one of the mirror's trees (${tail}), not its base`);
  }
  return base;
}

export function clientEnv(options: ClientEnvOptions): ClientEnv {
  const base = normaliseBase(options.base);
  const variables: ClientVariable[] = [
    {
      name: "HOMEBREW_API_DOMAIN",
      value: `${base}/api`,
      comment: "the signed JSON API (internal/packages.<tag>.jws.json, formula.jws.json), byte-identical",
    },
  ];
  if (options.layout === "flat") {
    variables.push(
      {
        name: "HOMEBREW_BOTTLE_DOMAIN",
        value: `${base}/bottles`,
        comment:
          "bottles as <name>-<version>.<tag>.bottle.tar.gz and their manifests at <image>/manifests/<version>",
      },
      {
        name: "HOMEBREW_ARTIFACT_DOMAIN",
        value: null,
        comment: "the OCI layout's variable: it would send portable Ruby and ghcr.io URLs to <base>/v2/",
      },
      {
        name: "HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK",
        value: null,
        comment: "only means something with HOMEBREW_ARTIFACT_DOMAIN",
      },
    );
  } else {
    variables.push(
      {
        name: "HOMEBREW_ARTIFACT_DOMAIN",
        value: base,
        comment:
          "brew rewrites https://ghcr.io/ to this: <base>/v2/homebrew/core/<image>/blobs/sha256:<sha> and …/manifests/<version>",
      },
      {
        name: "HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK",
        value: "1",
        comment:
          "never retry at ghcr.io: a missing file fails at once with the mirror's answer, not a timeout",
      },
      {
        name: "HOMEBREW_BOTTLE_DOMAIN",
        value: null,
        comment: "a custom bottle domain replaces the ghcr.io URLs that HOMEBREW_ARTIFACT_DOMAIN rewrites",
      },
    );
  }
  variables.push(
    {
      name: "HOMEBREW_DOCKER_REGISTRY_BASIC_AUTH_TOKEN",
      value: "none",
      comment:
        'send no Authorization header (brew otherwise sends ghcr.io\'s anonymous "Bearer QQ==", which S3 refuses)',
    },
    {
      name: "HOMEBREW_DOCKER_REGISTRY_TOKEN",
      value: null,
      comment: "it would win over the line above and send a bearer token to the mirror",
    },
  );
  if (options.brewGit) {
    variables.push(
      {
        name: "HOMEBREW_BREW_GIT_REMOTE",
        value: `${base}/git/brew.git`,
        comment: "brew's own code for `brew update` (git's dumb HTTP protocol; mirror.brew_git)",
      },
      {
        name: "HOMEBREW_NO_AUTO_UPDATE",
        value: null,
        comment: "auto-update fetches brew and the API from the mirror",
      },
    );
  } else {
    variables.push({
      name: "HOMEBREW_NO_AUTO_UPDATE",
      value: "1",
      comment:
        "the mirror has no brew git (mirror.brew_git is off): auto-update would `git fetch` from github.com first",
    });
  }
  variables.push(
    {
      name: "HOMEBREW_NO_INSTALL_FROM_API",
      value: null,
      comment: "formulae come from the API: homebrew/core's git (HOMEBREW_CORE_GIT_REMOTE) is not mirrored",
    },
    {
      name: "HOMEBREW_NO_ANALYTICS",
      value: "1",
      comment: "analytics would try Homebrew's servers on every install",
    },
    {
      name: "HOMEBREW_NO_GITHUB_API",
      value: "1",
      comment: "no GitHub API calls (search, issue lookup after a failed install)",
    },
  );
  const notes = [
    options.brewGit
      ? "Portable Ruby comes from the mirror too (mirror.brew_git): vendor-install fetches the one brew's vendor files name from HOMEBREW_ARTIFACT_DOMAIN's <base>/v2/homebrew/core/portable-ruby/… or HOMEBREW_BOTTLE_DOMAIN's portable-ruby-<version>.<tag>.bottle.tar.gz."
      : "Portable Ruby is mirrored only with mirror.brew_git (its version is named in brew's own repository): without it an offline client needs Ruby 4.0 first on PATH (Linux) or a Portable Ruby already installed (macOS).",
    "Only bottles are mirrored: a formula without a bottle for this machine's tag builds from source, whose URLs are not mirrored; casks download from their vendors.",
    "homebrew/core and homebrew/cask stay untapped (the API replaces them); a tapped homebrew/core would be fetched from github.com by brew update.",
  ];
  if (!options.brewGit) {
    notes.push(
      "Installing Homebrew itself needs its git repository: turn on mirror.brew_git to `git clone <base>/git/brew.git` offline.",
    );
  }
  return { base, layout: options.layout, brewGit: options.brewGit, variables, notes };
}

/** POSIX sh: `export NAME='value'  # comment` / `unset NAME  # comment`, then the notes as comments. */
export function renderShell(env: ClientEnv): string[] {
  const lines = [
    `# brew against the mirror at ${env.base} (${env.layout} layout${env.brewGit ? ", brew's git included" : ""}), with no route to the internet.`,
    `# Paste into the shell profile, or: eval "$(hbsync client-env --base ${env.base} --layout ${env.layout} ${env.brewGit ? "--brew-git" : "--no-brew-git"})"`,
  ];
  const width = Math.max(...env.variables.map((variable) => statement(variable).length));
  for (const variable of env.variables) {
    lines.push(`${statement(variable).padEnd(width)}  # ${variable.comment}`);
  }
  for (const note of env.notes) lines.push(`# note: ${note}`);
  return lines;
}

function statement(variable: ClientVariable): string {
  return variable.value === null
    ? `unset ${variable.name}`
    : `export ${variable.name}=${shellQuote(variable.value)}`;
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
