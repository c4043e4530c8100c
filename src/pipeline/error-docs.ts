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
  return `${lines.join("\n").trimEnd()}\n`;
}

/** GitHub's heading anchor for `### CODE — Title`. */
function anchor(entry: CatalogueEntry): string {
  return `${entry.code} — ${entry.title}`
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .replace(/\s/g, "-");
}
