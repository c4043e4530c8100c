import * as z from "zod";
import type { PathSegment } from "./diagnostics.ts";
import { ConfigSchema } from "./schema.ts";

/** A JSON Schema node, as much of it as diagnostics read. */
export interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  examples?: unknown[];
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: JsonSchemaNode | boolean;
  items?: JsonSchemaNode;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  [other: string]: unknown;
}

let cached: JsonSchemaNode | undefined;

/**
 * config.schema.json, generated from the zod schema (what editors validate against). `io: "input"`
 * describes the file as written, so keys with defaults are optional.
 */
export function configJsonSchema(): JsonSchemaNode {
  cached ??= {
    ...(z.toJSONSchema(ConfigSchema, { io: "input", target: "draft-2020-12" }) as JsonSchemaNode),
  };
  return cached;
}

/** The schema node describing the value at `path`, if the path is one the schema knows. */
export function schemaNodeAt(path: readonly PathSegment[]): JsonSchemaNode | undefined {
  let node: JsonSchemaNode | undefined = configJsonSchema();
  for (const segment of path) {
    if (!node) return undefined;
    if (typeof segment === "number") {
      node = node.items;
    } else if (node.properties && Object.hasOwn(node.properties, segment)) {
      node = node.properties[segment];
    } else if (typeof node.additionalProperties === "object") {
      node = node.additionalProperties;
    } else {
      return undefined;
    }
  }
  return node;
}

/** An example value for the key at `path`, as YAML-ish text, for "how to fix" hints. */
export function exampleAt(path: readonly PathSegment[]): string | undefined {
  const node = schemaNodeAt(path);
  const example = node?.examples?.[0] ?? node?.default;
  if (example === undefined) return undefined;
  if (typeof example === "string")
    return /^[#*&!|>'"%@`{[]|: | #/.test(example) ? JSON.stringify(example) : example;
  if (Array.isArray(example)) return `[${example.map((item) => String(item)).join(", ")}]`;
  return String(example);
}

/** The text of config.schema.json as committed at the repository root (regenerate: npm run gen:schema). */
export function renderConfigSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
