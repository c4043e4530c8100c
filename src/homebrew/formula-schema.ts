import * as z from "zod";
import type { FormulaInfo } from "./types.ts";

/**
 * What the mirror accepts from a (verified) index. Even a correctly signed index is treated as
 * untrusted input here: names, versions and tags become store keys and URL paths, so anything that
 * could escape the mirror root or is absurd is rejected — per formula, reported, never returned.
 */
export const MAX_NAME_LENGTH = 200;
export const MAX_VERSION_LENGTH = 128;
export const MAX_REVISION = 10_000;
export const MAX_REBUILD = 10_000;

export const FORMULA_NAME = /^[A-Za-z0-9][A-Za-z0-9@+._-]*$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;
export const BOTTLE_TAG = /^[a-z0-9_]{1,64}$/;
export const SHA256_HEX = /^[0-9a-f]{64}$/;

const noDotDot = (value: string): boolean => !value.includes("..");

const nameSchema = z
  .string()
  .max(MAX_NAME_LENGTH, `longer than ${MAX_NAME_LENGTH} characters`)
  .regex(FORMULA_NAME, "must match [A-Za-z0-9][A-Za-z0-9@+._-]* (no /, NUL or spaces)")
  .refine(noDotDot, "must not contain ..");

const versionSchema = z
  .string()
  .max(MAX_VERSION_LENGTH, `longer than ${MAX_VERSION_LENGTH} characters`)
  .regex(VERSION, "must match [A-Za-z0-9][A-Za-z0-9._+~-]*")
  .refine(noDotDot, "must not contain ..");

const bottleFileSchema = z.looseObject({
  cellar: z.string().max(500),
  sha256: z.string().regex(SHA256_HEX, "must be 64 lowercase hex characters"),
  url: z.string().max(2000).optional(),
});

const formulaSchema = z.looseObject({
  name: nameSchema,
  versions: z.looseObject({
    stable: versionSchema.nullable(),
    head: z.string().nullable().optional(),
    bottle: z.boolean().optional(),
  }),
  revision: z.int().min(0).max(MAX_REVISION).default(0),
  bottle: z
    .looseObject({
      stable: z
        .looseObject({
          rebuild: z.int().min(0).max(MAX_REBUILD).default(0),
          root_url: z.string().max(2000).optional(),
          files: z.record(z.string(), bottleFileSchema).superRefine((files, ctx) => {
            for (const tag of Object.keys(files)) {
              if (!BOTTLE_TAG.test(tag)) {
                ctx.addIssue({
                  code: "custom",
                  path: [tag],
                  message: "bottle tag must match [a-z0-9_]{1,64}",
                });
              }
            }
          }),
        })
        .optional(),
    })
    .default({}),
});

export interface RejectedEntry {
  /** The entry's name as far as it could be read (sanitised for printing), or `#<index>`. */
  name: string;
  reason: string;
}

export interface ValidatedFormulae {
  formulae: FormulaInfo[];
  rejected: RejectedEntry[];
}

/** Splits a parsed formula.json payload into acceptable entries and rejected ones (with reasons). */
export function validateFormulae(payload: unknown[]): ValidatedFormulae {
  const formulae: FormulaInfo[] = [];
  const rejected: RejectedEntry[] = [];
  const seen = new Set<string>();
  payload.forEach((entry, index) => {
    const result = formulaSchema.safeParse(entry);
    if (!result.success) {
      rejected.push({ name: displayName(entry, index), reason: describeIssues(result.error) });
      return;
    }
    const formula = result.data as FormulaInfo;
    if (seen.has(formula.name)) {
      rejected.push({ name: formula.name, reason: "duplicate name: only the first entry is kept" });
      return;
    }
    seen.add(formula.name);
    formulae.push(formula);
  });
  return { formulae, rejected };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join(".") || "(entry)"}: ${issue.message}`)
    .join("; ");
}

/** A printable name for a rejected entry: control characters escaped, length bounded. */
function displayName(entry: unknown, index: number): string {
  const name = typeof entry === "object" && entry !== null ? (entry as { name?: unknown }).name : undefined;
  if (typeof name !== "string") return `#${index}`;
  const printable = JSON.stringify(name).slice(1, -1);
  return printable.length > 80 ? `${printable.slice(0, 77)}...` : printable;
}
