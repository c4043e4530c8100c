import { expect } from "vitest";
import { type Diagnostic, formatDiagnostic } from "../../../src/config/diagnostics.ts";
import { parseConfig } from "../../../src/config/load.ts";

/** Shared by the config tests: small YAML texts with known line numbers. */
export const REPO_CONFIG = new URL("../../../config.yaml", import.meta.url);

/** A minimal valid config: six lines, so each test's added lines start at line 7. */
export const BASE = [
  "project:",
  "  name: demo",
  "environments:",
  "  dev:",
  "    aws_region: us-east-1",
  '    schedule_expression: "rate(1 day)"',
].join("\n");

export function withLines(...lines: string[]): string {
  return `${[BASE, ...lines].join("\n")}\n`;
}

export function errorsOf(text: string): Diagnostic[] {
  return parseConfig(text, "config.yaml").errors;
}

export function onlyError(text: string): Diagnostic {
  const errors = errorsOf(text);
  expect(errors.map(formatDiagnostic)).toHaveLength(1);
  return errors[0] as Diagnostic;
}

export function onlyWarning(text: string): Diagnostic {
  const result = parseConfig(text, "config.yaml");
  expect(result.errors.map(formatDiagnostic)).toEqual([]);
  expect(result.warnings.map(formatDiagnostic)).toHaveLength(1);
  return result.warnings[0] as Diagnostic;
}
