#!/usr/bin/env node
// `npm test`: lint + format check (Biome), typecheck (tsc), then every Vitest suite.
// Ends with one plain line `N passed, N failed[, N skipped]` that CI recognises.
// Extra arguments go to Vitest (e.g. `npm test -- tests/unit/config`).
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";

const vitestArgs = process.argv.slice(2);
const report = "reports/vitest.json";
let failedSteps = 0;

function step(name, command, args) {
  const started = Date.now();
  process.stdout.write(`\n== ${name}: ${command} ${args.join(" ")}\n`);
  const result = spawnSync(command, args, { stdio: "inherit" });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  process.stdout.write(
    `== ${name}: ${ok ? "ok" : `FAILED (exit ${result.status ?? result.signal})`} in ${seconds}s\n`,
  );
  if (!ok) failedSteps += 1;
  return ok;
}

step("lint", "npx", ["biome", "ci", "."]);
step("typecheck", "npx", ["tsc", "--noEmit", "-p", "."]);

mkdirSync("reports", { recursive: true });
rmSync(report, { force: true });
step("tests", "npx", [
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${report}`,
  ...vitestArgs,
]);

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const summary = JSON.parse(readFileSync(report, "utf8"));
  passed = summary.numPassedTests;
  failed = summary.numFailedTests;
  skipped = summary.numPendingTests + summary.numTodoTests;
  // A suite that failed to load has no tests but is still a failure.
  failed += summary.testResults.filter(
    (file) => file.status === "failed" && file.assertionResults.length === 0,
  ).length;
} catch {
  failed += 1;
  process.stdout.write("no Vitest report was written: the test run itself failed\n");
}
// Lint and typecheck failures count as failed checks.
failed += failedSteps > 0 && failed === 0 ? failedSteps : 0;
process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
process.exitCode = failed > 0 || failedSteps > 0 ? 1 : 0;
