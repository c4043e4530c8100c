/**
 * Just enough HCL lexing to find where blocks and attributes are in a .tf file: @cdktf/hcl2json gives the
 * structure but no positions, so findings get their line numbers from the raw text. Strings (with `${}`
 * interpolation), comments and heredocs are skipped so braces inside them do not count.
 */

export interface BlockSpan {
  kind: "resource" | "data";
  type: string;
  name: string;
  /** Offset of the keyword, and just past the closing brace. */
  start: number;
  end: number;
}

const BLOCK_HEADER = /^[ \t]*(resource|data)[ \t]+"([^"]+)"[ \t]+"([^"]+)"[ \t]*\{/gm;

export function locateBlocks(text: string): BlockSpan[] {
  const spans: BlockSpan[] = [];
  let from = 0;
  BLOCK_HEADER.lastIndex = 0;
  for (;;) {
    BLOCK_HEADER.lastIndex = from;
    const match = BLOCK_HEADER.exec(text);
    if (!match) break;
    const open = match.index + match[0].length - 1;
    const end = matchBrace(text, open);
    const start = match.index + (match[0].length - match[0].trimStart().length);
    spans.push({
      kind: match[1] as BlockSpan["kind"],
      type: match[2] ?? "",
      name: match[3] ?? "",
      start,
      end,
    });
    from = end;
  }
  return spans;
}

/** Index just past the `}` matching the `{` at `open`. */
export function matchBrace(text: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "#" || (c === "/" && next === "/")) {
      const eol = text.indexOf("\n", i);
      if (eol < 0) return text.length;
      i = eol;
      continue;
    }
    if (c === "/" && next === "*") {
      const close = text.indexOf("*/", i + 2);
      i = close < 0 ? text.length : close + 2;
      continue;
    }
    if (c === '"') {
      i = skipString(text, i);
      continue;
    }
    if (c === "<" && next === "<") {
      const heredoc = /^<<-?[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\r?\n/.exec(text.slice(i, i + 200));
      if (heredoc?.[1]) {
        const endMarker = new RegExp(`\\n[ \\t]*${heredoc[1]}[ \\t]*(?:\\r?\\n|$)`, "g");
        endMarker.lastIndex = i + heredoc[0].length - 1;
        const found = endMarker.exec(text);
        i = found ? found.index + found[0].length : text.length;
        continue;
      }
    }
    if (c === "{") depth += 1;
    else if (c === "}") {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
    i += 1;
  }
  return text.length;
}

function skipString(text: string, quote: number): number {
  let j = quote + 1;
  while (j < text.length) {
    const c = text[j];
    if (c === "\\") j += 2;
    else if (c === '"') return j + 1;
    else if (c === "\n") return j;
    else if (c === "$" && text[j + 1] === "{") j = skipInterpolation(text, j + 1);
    else j += 1;
  }
  return j;
}

function skipInterpolation(text: string, open: number): number {
  let depth = 0;
  let k = open;
  while (k < text.length) {
    const c = text[k];
    if (c === '"') {
      k = skipString(text, k);
      continue;
    }
    if (c === "{") depth += 1;
    else if (c === "}") {
      depth -= 1;
      if (depth === 0) return k + 1;
    }
    k += 1;
  }
  return k;
}

/** Offset of the first `name =` / `name {` / `"name" =` / `name:` inside [start, end), or -1. */
export function findKey(text: string, name: string, start: number, end: number): number {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const key = new RegExp(`(?:^|[\\s{,\\[(])"?(${escaped})"?[ \\t]*(?:=(?!=)|\\{|:)`, "gm");
  key.lastIndex = start;
  const match = key.exec(text);
  if (!match || match.index >= end) return -1;
  return match.index + match[0].indexOf(name);
}
