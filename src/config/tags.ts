import { UsageError } from "../shared/errors.ts";
import { BOTTLE_TAGS } from "./constants.ts";
import { closestMatch } from "./suggest.ts";

/** A bottle tag Homebrew does not publish, with the closest one it does (a likely typo), if any. */
export interface UnknownBottleTag {
  tag: string;
  suggestion: string | undefined;
  /** `unknown bottle tag \`arm64_sequia\` — did you mean \`arm64_sequoia\`?` */
  message: string;
}

/**
 * The one known-tag check, shared by `config validate` (mirror.tags) and every `--tags` flag: undefined
 * for a tag in BOTTLE_TAGS, else what is wrong and the did-you-mean suggestion.
 */
export function unknownBottleTag(tag: string): UnknownBottleTag | undefined {
  if (BOTTLE_TAGS.includes(tag)) return undefined;
  const suggestion = closestMatch(tag, BOTTLE_TAGS);
  const didYouMean = suggestion ? ` — did you mean \`${suggestion}\`?` : "";
  const shown = tag.length > 40 ? `${tag.slice(0, 37)}…` : tag;
  return { tag, suggestion, message: `unknown bottle tag \`${shown}\`${didYouMean}` };
}

/** What to write instead of the unknown tags in `tags` (each replaced by its suggestion, or dropped). */
export function correctedTags(tags: readonly string[]): string[] {
  const corrected = tags.flatMap((tag) => {
    const unknown = unknownBottleTag(tag);
    if (!unknown) return [tag];
    return unknown.suggestion ? [unknown.suggestion] : [];
  });
  return [...new Set(corrected)];
}

/**
 * `--tags a,b`: bottle tags separated by commas, each one Homebrew publishes (the check `config
 * validate` applies to mirror.tags, with the same did-you-mean). An unknown tag is a UsageError (exit 2):
 * a typo would otherwise mirror only the `all` bottles and succeed.
 */
export function parseTagsFlag(value: string, flag = "--tags"): string[] {
  const tags = splitList(value);
  if (tags.length === 0) {
    throw new UsageError(`${flag} names no bottle tag`, {
      fix: `give bottle tags separated by commas, e.g. ${flag} arm64_sequoia,x86_64_linux`,
    });
  }
  const unknown = tags.flatMap((tag) => unknownBottleTag(tag) ?? []);
  if (unknown.length > 0) {
    const corrected = correctedTags(tags);
    throw new UsageError(`${flag}: ${unknown.map((tag) => tag.message).join("; ")}`, {
      fix:
        corrected.length > 0 && unknown.every((tag) => tag.suggestion)
          ? `write ${flag} ${corrected.join(",")}`
          : `use tags from: ${BOTTLE_TAGS.join(", ")}`,
    });
  }
  return tags;
}

/** `a, b,,c` → `["a", "b", "c"]`. */
export function splitList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}
