import { dirname } from "node:path/posix";
import { parse } from "@cdktf/hcl2json";
import { locateBlocks } from "./hcl-text.ts";
import type { TfBody, TfModule } from "./iac-model.ts";
import { IAC_CHECKS } from "./iac-rules/index.ts";
import type { Finding } from "./types.ts";

export { IAC_RULES } from "./iac-rules/index.ts";

export interface IacScanOutput {
  findings: Finding[];
  filesScanned: number;
  warnings: string[];
}

/** Parses every .tf file with @cdktf/hcl2json, groups them by directory and runs every IaC rule. */
export async function scanIac(files: Array<{ file: string; text: string }>): Promise<IacScanOutput> {
  const warnings: string[] = [];
  const modules = new Map<string, TfModule>();
  let filesScanned = 0;
  for (const { file, text } of files) {
    if (!file.endsWith(".tf")) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = (await parse(file, text)) as Record<string, unknown>;
    } catch (error) {
      warnings.push(`${file}: not valid HCL, skipped (${firstLine(error)})`);
      continue;
    }
    filesScanned += 1;
    const dir = dirname(file);
    const module: TfModule = modules.get(dir) ?? { dir, blocks: [], decoded: new Map() };
    modules.set(dir, module);
    const spans = locateBlocks(text);
    for (const kind of ["resource", "data"] as const) {
      const byType = (parsed[kind] ?? {}) as Record<string, Record<string, TfBody[]>>;
      for (const [type, byName] of Object.entries(byType)) {
        for (const [name, bodies] of Object.entries(byName)) {
          const span = spans.find((s) => s.kind === kind && s.type === type && s.name === name);
          module.blocks.push({
            kind,
            type,
            name,
            address: kind === "data" ? `data.${type}.${name}` : `${type}.${name}`,
            body: bodies[0] ?? {},
            file,
            text,
            start: span?.start ?? 0,
            end: span?.end ?? text.length,
          });
        }
      }
    }
    await decodeJsonencodes(parsed, module.decoded);
  }
  const findings: Finding[] = [];
  for (const module of modules.values()) {
    for (const check of IAC_CHECKS) findings.push(...check(module));
  }
  return { findings, filesScanned, warnings };
}

const JSONENCODE = /^\$\{jsonencode\(([\s\S]*)\)\}$/;

/** Walks a parsed file and decodes each `${jsonencode(<literal expression>)}` by re-parsing it as HCL. */
async function decodeJsonencodes(value: unknown, into: Map<string, unknown>): Promise<void> {
  if (typeof value === "string") {
    const match = JSONENCODE.exec(value);
    if (match?.[1] !== undefined && !into.has(value)) {
      try {
        const parsed = (await parse("jsonencode.tf", `locals {\n  v = ${match[1]}\n}\n`)) as {
          locals?: Array<{ v?: unknown }>;
        };
        const decoded = parsed.locals?.[0]?.v;
        // A non-literal expression (merge(), for …) comes back as a "${…}" string: leave it undecoded.
        if (decoded !== undefined && !(typeof decoded === "string" && decoded.startsWith("${"))) {
          into.set(value, decoded);
        }
      } catch {
        // Not decodable: rules fall back to the raw text.
      }
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) await decodeJsonencodes(item, into);
    return;
  }
  if (value && typeof value === "object") {
    for (const item of Object.values(value)) await decodeJsonencodes(item, into);
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}
