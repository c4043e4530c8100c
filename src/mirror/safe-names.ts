import type { FormulaInfo } from "../homebrew/types.ts";

/**
 * The index is upstream input: a name that would make an unsafe store key (`../`, `/`, NUL, control
 * characters, absurd lengths) or a digest that is not 64 lowercase hex characters is rejected, never
 * planned. Real Homebrew names fit these shapes (`openssl@3`, `libstdc++`, `llvm@18`, `1.83.0_1`).
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9@+._-]{0,127}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9@+._~,-]{0,127}$/;
const TAG = /^[a-z0-9][a-z0-9_]{0,63}$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** No real bottle comes near this; a manifest claiming more is treated as "size unknown". */
export const MAX_BOTTLE_BYTES = 64 * 1024 ** 3;

export function isSafeName(name: unknown): name is string {
  return typeof name === "string" && NAME.test(name) && !name.includes("..");
}

export function isSafeVersion(version: unknown): version is string {
  return typeof version === "string" && VERSION.test(version) && !version.includes("..");
}

export function isSafeTag(tag: unknown): tag is string {
  return typeof tag === "string" && TAG.test(tag);
}

export function isSha256(value: unknown): value is string {
  return typeof value === "string" && SHA256.test(value);
}

export function isPlausibleSize(size: unknown): size is number {
  return typeof size === "number" && Number.isSafeInteger(size) && size >= 0 && size <= MAX_BOTTLE_BYTES;
}

/**
 * Why a formula entry cannot be planned, or null when every field the keys are built from is safe.
 * Only the bottles of `tags` are checked: an odd tag the mirror does not want does not reject a formula.
 */
export function unsafeReason(formula: FormulaInfo, tags: readonly string[]): string | null {
  if (typeof formula !== "object" || formula === null) return "entry is not an object";
  if (!isSafeName(formula.name)) return `unsafe formula name ${JSON.stringify(formula.name)}`;
  const stable = formula.bottle?.stable;
  if (!stable) return null;
  if (!isSafeVersion(formula.versions?.stable)) {
    return `unsafe version ${JSON.stringify(formula.versions?.stable)}`;
  }
  const revision = formula.revision ?? 0;
  if (!Number.isSafeInteger(revision) || revision < 0) return `unsafe revision ${JSON.stringify(revision)}`;
  const rebuild = stable.rebuild ?? 0;
  if (!Number.isSafeInteger(rebuild) || rebuild < 0) return `unsafe rebuild ${JSON.stringify(rebuild)}`;
  if (typeof stable.files !== "object" || stable.files === null)
    return "bottle.stable.files is not an object";
  for (const tag of [...tags, "all"]) {
    if (!Object.hasOwn(stable.files, tag)) continue;
    const file = stable.files[tag];
    if (!isSafeTag(tag)) return `unsafe tag ${JSON.stringify(tag)}`;
    if (!file || !isSha256(file.sha256)) {
      return `bottle ${tag} has a sha256 that is not 64 lowercase hex characters`;
    }
  }
  return null;
}
