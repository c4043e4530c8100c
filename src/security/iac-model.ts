import { positionOf } from "./files.ts";
import { findKey } from "./hcl-text.ts";
import { makeFinding } from "./suppress.ts";
import type { Finding, RuleMeta } from "./types.ts";

export type TfBody = Record<string, unknown>;

/** One `resource` or `data` block: its parsed body (hcl2json) and where it is in the file. */
export interface TfBlock {
  kind: "resource" | "data";
  type: string;
  name: string;
  /** `aws_s3_bucket.this`, `data.aws_iam_policy_document.trust`. */
  address: string;
  body: TfBody;
  file: string;
  text: string;
  start: number;
  end: number;
}

/** The .tf files of one directory: a Terraform module. Rules look across its files. */
export interface TfModule {
  dir: string;
  blocks: TfBlock[];
  /** `${jsonencode(<expr>)}` strings decoded to JSON values (missing when the expression is not literal). */
  decoded: Map<string, unknown>;
}

// ---- helpers for rules ----

export function blocksOf(module: TfModule, type: string, kind: "resource" | "data" = "resource"): TfBlock[] {
  return module.blocks.filter((b) => b.kind === kind && b.type === type);
}

/** True when an attribute value (any shape) references `address` (`aws_s3_bucket.this.id`, `…[0].arn`). */
export function refersTo(value: unknown, address: string): boolean {
  const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?:^|[^A-Za-z0-9_.])${escaped}(?:\\[[^\\]]*\\])?\\.`).test(JSON.stringify(value ?? ""));
}

/** The first nested block of a body (hcl2json gives blocks as arrays of objects). */
export function firstBlock(value: unknown): TfBody | undefined {
  if (Array.isArray(value)) return value[0] as TfBody | undefined;
  if (value && typeof value === "object") return value as TfBody;
  return undefined;
}

export function blocksIn(value: unknown): TfBody[] {
  if (Array.isArray(value)) return value.filter((v): v is TfBody => Boolean(v) && typeof v === "object");
  if (value && typeof value === "object") return [value as TfBody];
  return [];
}

/** A finding located at the block header, or at the first `key` inside the block when given and present. */
export function blockFinding(
  rule: RuleMeta,
  block: TfBlock,
  message: string,
  options: { key?: string; match?: string } = {},
): Finding {
  let offset = block.start;
  if (options.key) {
    const at = findKey(block.text, options.key, block.start, block.end);
    if (at >= 0) offset = at;
  }
  const { line, col } = positionOf(block.text, offset);
  return makeFinding(rule, {
    file: block.file,
    line,
    col,
    match: `${block.address}${options.match ? `:${options.match}` : ""}`,
    message: `${block.address}: ${message}`,
  });
}

/** Like blockFinding, located at a literal piece of text inside the block (first occurrence). */
export function textFinding(
  rule: RuleMeta,
  block: TfBlock,
  needle: string,
  message: string,
  match: string,
): Finding {
  const index = block.text.indexOf(needle, block.start);
  const offset = index >= 0 && index < block.end ? index : block.start;
  const { line, col } = positionOf(block.text, offset);
  return makeFinding(rule, {
    file: block.file,
    line,
    col,
    match: `${block.address}:${match}`,
    message: `${block.address}: ${message}`,
  });
}

export function isLiteralTrue(value: unknown): boolean {
  return value === true || value === "true";
}

export function asStrings(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(asStrings);
  if (typeof value === "string") return [value];
  if (typeof value === "number" || typeof value === "boolean") return [String(value)];
  return [];
}
