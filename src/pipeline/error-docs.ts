/**
 * Renders docs/troubleshooting.md from ERROR_CATALOGUE, so the docs and the guidance `hbsync` prints
 * cannot drift: tests/unit/pipeline/errors.test.ts fails when the file differs, and rewrites it with
 * `UPDATE_DOCS=1 npx vitest run tests/unit/pipeline/errors.test.ts`.
 */
import { CATEGORY_PREFIX, type CatalogueEntry, ERROR_CATALOGUE, type ErrorCategory } from "./errors.ts";

const CATEGORY_TITLES: Record<ErrorCategory, string> = {
  configuration: "Configuration",
  build: "Build",
  deployment: "Deployment",
  test: "Test",
  infrastructure: "Infrastructure",
};

const INTRO = [
  "# Troubleshooting: the pipeline error catalogue",
  "",
  "<!-- Generated from src/pipeline/errors.ts (ERROR_CATALOGUE) by src/pipeline/error-docs.ts. Do not edit by",
  "     hand: change the catalogue, then run `UPDATE_DOCS=1 npx vitest run tests/unit/pipeline/errors.test.ts`. -->",
  "",
  "Every failure of `hbsync env …`, `hbsync rollback` and `hbsync test` has a code `HBS-<CATEGORY>-<NNN>`.",
  "`hbsync` prints it with the message and the fix (`error: HBS-DEP-001: …` then `fix: …`); inside GitHub",
  "Actions it also emits a workflow annotation (`::error title=<title> (<code>)::…`) so the failure shows on",
  "the run's summary page. Configuration errors exit with code 2; the others with 1.",
  "",
  "Categories: **CFG** configuration, **BLD** build, **DEP** deployment, **TST** test, **INF** infrastructure.",
  "What the pipeline does on its own: a failed deploy is rolled back to the last good version when one",
  "exists (see docs/pipeline.md) and announced on Slack/email; failed critical tests block the deploy.",
];

/**
 * The mirror's own messages (`hbsync sync`, `hbsync unlock`): they carry no catalogue code; each says
 * what happened and the fix in the line itself. Kept here so the one troubleshooting page covers them.
 */
export const MIRROR_MESSAGES: Array<{ message: string; meaning: string; fix: string }> = [
  {
    message: "another sync (run R, owner O) holds the lock until T (exit 75)",
    meaning:
      "`_sync/lock` names a run that is still alive: its lease has not expired and, for a run on this machine, its process still runs. A run on the same machine whose process is gone (killed, crashed, rebooted) does not block: the next sync takes its lease over at once and prints `lock: took over _sync/lock from run R (owner O): process P on H is gone`. Lambda and ECS leases carry no process and expire by time (10 minutes after the last renewal).",
    fix: "Try later. If that run is dead, `hbsync unlock --dest …` shows the holder and releases it; it refuses (exit 75) while the holder looks alive, and `--force` releases anyway (make sure it is not running: two syncs at once may prune what the other publishes).",
  },
  {
    message: "retry K in M ms: download of URL interrupted after N bytes: …",
    meaning:
      "The connection failed during a transfer: a reset, a close before the end (also inside its last bytes), a stall longer than the idle timeout (120 s), bad chunked framing. The transfer is retried with backoff (4 retries by default); a body whose sha256 differs is retried the same way and never stored.",
    fix: "Nothing, if a later attempt succeeds. When every attempt fails the bottle is a run error: re-run (completed bottles are kept). Behind an egress proxy, set `mirror.upstream.proxy` or HTTPS_PROXY (see docs/config.md).",
  },
  {
    message: "an unexpected error outside the run: E (the run stops as failed)",
    meaning:
      "An error no code awaited (a bug in hbsync or a library) was caught by the process guard: the run aborts, saves its state, writes its report and releases the lease; the command exits 1 with that one line.",
    fix: "Re-run: completed bottles are kept. Report the bug with the run report (`_sync/runs/<runId>.json`); `HBSYNC_DEBUG=1` prints the stack trace.",
  },
  {
    message:
      "sync R stopped: no space left on P (ENOSPC); it needs N more free space (X planned, Y stored); state saved, report: _sync/runs/R.json",
    meaning:
      "A write into the folder mirror failed because its filesystem is full (`ENOSPC`; `disk quota exceeded … (EDQUOT)` when a quota is used up). No transfer starts after the first such write; those in flight end, and nothing partial is visible (a failed write leaves no file). N is what the run still has to write: the bottles it planned minus those it stored, plus the API files. While it runs a sync holds a little room back (`<dest>/.tmp/reserve`) and frees it at this point, so the state and the report fit; when even they cannot be written the line says so. The lease is released; nothing was published or pruned.",
    fix: "Free at least N on that filesystem (or raise the quota), or point `--dest` at one with room, then re-run: the bottles stored are kept and not downloaded again. `hbsync plan` shows the bytes a sync will write.",
  },
  {
    message: "no mirror at P: … does not exist (exit 1)",
    meaning:
      "`hbsync verify` (and `verify --repair`) read a mirror, and `--dest` holds none: the folder does not exist, or `_sync/state.json` does not (no sync ever finished there, so nothing records what the mirror should hold). It is an error rather than `verified 0 of 0 objects`.",
    fix: "Check `--dest` (the folder or `s3://bucket/prefix` your sync writes to), or create the mirror first with `hbsync sync --dest P`.",
  },
  {
    message: "verify found N problem(s) in L (exit 1)",
    meaning:
      "Objects the state records are missing, or their size or sha256 differs (a flipped byte, a file deleted by hand). A plain `hbsync sync` would keep them: the state says they match.",
    fix: "`hbsync verify --repair --dest …` (with the `--config`/`--upstream-…` flags your sync uses) fetches each one again and verifies; `hbsync sync --verify-existing` re-hashes and repairs everything as part of a sync.",
  },
  {
    message: "access denied to s3://B/P (check the role/credentials: …; …)",
    meaning:
      "S3 answered 403 (AccessDenied, or a credential it does not accept: InvalidAccessKeyId, SignatureDoesNotMatch, an expired token) for the bucket and prefix named. The line says which credential source was in use.",
    fix: "Renew or correct the credentials; the role needs s3:GetObject, s3:PutObject and s3:DeleteObject on the prefix and s3:ListBucket on the bucket (plus kms:Decrypt/kms:GenerateDataKey with SSE-KMS).",
  },
  {
    message: "the bucket B is in region X, not Y (s3://B/P; …)",
    meaning: "S3 redirected (301 PermanentRedirect): the bucket lives in another region than the client's.",
    fix: "Set AWS_REGION=X (or the environment's `aws_region` in config.yaml).",
  },
  {
    message: "no bucket named B (s3://B/P; …)",
    meaning:
      "The bucket in `--dest` (or MIRROR_BUCKET) does not exist in this account and partition; a get of a key in it is not reported as a missing object.",
    fix: "Check the bucket name and the account you are in; create it with infra/terraform (modules/storage) if it should exist.",
  },
  {
    message: "sync R failed: E (report: _sync/runs/R.json)",
    meaning:
      "A step of the run failed in a way it could not carry on from (a state or report write, the store itself). What the run finished is recorded in the state; nothing was pruned.",
    fix: "Fix the cause the line names (space, permissions, credentials), then re-run: completed bottles are kept and not downloaded again.",
  },
  {
    message:
      "the upstream has no formula.jws.json and no internal/packages file for T: nothing to plan that tag from",
    meaning:
      "brew 6 reads only `internal/packages.<tag>.jws.json`, so a run plans each tag from that file and needs the v1 `formula.jws.json` only for a tag that has none. Here the upstream serves neither for tag T. Nothing was written. (When every mirrored tag has its file, a missing formula.jws.json is fine: the run says `plan: from internal/packages.… (the upstream has no api/formula.jws.json)`, and a copy an earlier run mirrored is removed when the new files are published, so brew < 6 clients get a 404 rather than a stale index.)",
    fix: "Check `mirror.upstream.api`: it must serve formula.jws.json, or internal/packages.<tag>.jws.json for every tag in `mirror.tags`; or drop T from `mirror.tags`.",
  },
];

function mirrorSections(): string[] {
  const lines = [
    "## Mirror sync",
    "",
    "`hbsync sync`, `verify` and `unlock`, and the S3 store under them, print their own messages (no code);",
    "the run report `_sync/runs/<runId>.json` lists every error of a run. Exit codes: 0 ok, 1 failed, 2 usage",
    "(an unknown `--tags` entry, with the tag it resembles), 75 locked.",
    "",
  ];
  for (const entry of MIRROR_MESSAGES) {
    lines.push(`### ${entry.message}`, "", `**Meaning:** ${entry.meaning}`, "", `**Fix:** ${entry.fix}`, "");
  }
  return lines;
}

function section(entry: CatalogueEntry): string[] {
  return [
    `### ${entry.code} — ${entry.title}`,
    "",
    `**Meaning:** ${entry.meaning}`,
    "",
    `**Fix:** ${entry.fix}`,
    "",
  ];
}

export function renderTroubleshooting(): string {
  const entries = Object.values(ERROR_CATALOGUE) as CatalogueEntry[];
  const lines = [...INTRO, "", "| Code | Title | Category |", "| --- | --- | --- |"];
  for (const entry of entries) {
    lines.push(`| [${entry.code}](#${anchor(entry)}) | ${entry.title} | ${entry.category} |`);
  }
  lines.push("");
  for (const category of Object.keys(CATEGORY_PREFIX) as ErrorCategory[]) {
    lines.push(`## ${CATEGORY_TITLES[category]}`, "");
    for (const entry of entries.filter((e) => e.category === category)) lines.push(...section(entry));
  }
  lines.push(...mirrorSections());
  return `${lines.join("\n").trimEnd()}\n`;
}

/** GitHub's heading anchor for `### CODE — Title`. */
function anchor(entry: CatalogueEntry): string {
  return `${entry.code} — ${entry.title}`
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .replace(/\s/g, "-");
}
