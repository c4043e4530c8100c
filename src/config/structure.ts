/**
 * Linear passes over config.yaml that run around the YAML library, so a hostile or mistaken file is
 * refused with what is wrong instead of taking minutes or overflowing the stack:
 *
 * - `checkBeforeParse`: the token stream (yaml's Lexer, which does not recurse) says how deep the
 *   brackets nest, how far lines are indented, and (by its `:` indicators) whether there are more keys
 *   than a config has, before the parser (which recurses per level, and builds a node per key) runs.
 * - `structureFindings`: one walk of the parsed document with an explicit stack: duplicate keys (the
 *   library's own `uniqueKeys` check compares each key with every earlier one: 30,000 keys took 37 s),
 *   the key count and the nesting depth. Aliases are not followed (an alias bomb costs nothing here).
 */
import { CST, type Document, isAlias, isMap, isPair, isScalar, isSeq, Lexer, type Node } from "yaml";
import { MAX_CONFIG_DEPTH, MAX_CONFIG_KEYS, MAX_CONFIG_LINE_NESTING } from "./constants.ts";
import { formatPath, type PathSegment } from "./diagnostics.ts";

/** A problem located by offset in the text (the caller turns it into line:col). */
export interface StructureProblem {
  offset: number;
  message: string;
  fix: string;
}

/** The lexer's control tokens (document start, flow error end, scalar start) take no room in the text. */
const CONTROL_TOKENS = new Set(["\u0002", "\u0018", "\u001f"]);

const DEPTH_FIX =
  "a config file nests a few levels (environments.<env>.resources.lambda.sync_memory is 5): write the values out flat, or point --config at the right file";

/**
 * How deep the YAML nests, from its tokens alone: brackets (`[`, `{`) exactly, and block nesting bounded
 * by each line's indentation plus its `- `/`? ` indicators; and whether it has too many keys (each `:`
 * indicator belongs to one key). The first place past the limits, or undefined.
 */
export function checkBeforeParse(text: string): StructureProblem | undefined {
  let offset = 0;
  let colons = 0;
  let flowDepth = 0;
  let lineStart = true;
  let lineNesting = 0;
  for (const token of new Lexer().lex(text)) {
    if (CONTROL_TOKENS.has(token)) continue;
    const start = offset;
    offset += token.length;
    const type = CST.tokenType(token);
    if (type === "flow-seq-start" || type === "flow-map-start") {
      if (++flowDepth > MAX_CONFIG_DEPTH) {
        return {
          offset: start,
          message: `the YAML nests brackets more than ${MAX_CONFIG_DEPTH} levels deep here (\`${token}\` number ${flowDepth} inside one another)`,
          fix: DEPTH_FIX,
        };
      }
    } else if (type === "flow-seq-end" || type === "flow-map-end") {
      flowDepth = Math.max(0, flowDepth - 1);
    } else if (type === "map-value-ind" && ++colons > MAX_CONFIG_KEYS) {
      return tooManyKeys(start, colons);
    }
    if (type === "newline") {
      lineStart = true;
      lineNesting = 0;
      continue;
    }
    if (lineStart && type === "space") lineNesting += token.length;
    else if (type === "seq-item-ind" || type === "explicit-key-ind") lineNesting += 1;
    if (type !== "space") lineStart = false;
    if (lineNesting > MAX_CONFIG_LINE_NESTING) {
      return {
        offset: start,
        message: `the YAML nests too deep here: this line is indented ${lineNesting} columns (counting \`- \` and \`? \`), more than ${MAX_CONFIG_LINE_NESTING}; a config file nests at most ${MAX_CONFIG_DEPTH} levels`,
        fix: DEPTH_FIX,
      };
    }
  }
  return undefined;
}

/**
 * Duplicate keys, too many keys, or too deep a document: everything found, in document order.
 * `position` turns an offset into line:col (for "first at …").
 */
export function structureFindings(
  doc: Document,
  position: (offset: number) => { line: number; col: number },
): StructureProblem[] {
  const problems: StructureProblem[] = [];
  let keys = 0;
  const root = doc.contents as Node | null;
  if (!root) return problems;
  const stack: Array<{ node: Node; depth: number; path: PathSegment[] }> = [
    { node: root, depth: 0, path: [] },
  ];
  while (stack.length > 0) {
    const { node, depth, path } = stack.pop() as (typeof stack)[number];
    if (isAlias(node) || isScalar(node)) continue;
    if (depth >= MAX_CONFIG_DEPTH) {
      problems.push({
        offset: node.range?.[0] ?? 0,
        message: `\`${formatPath(path) || "(top level)"}\` nests more than ${MAX_CONFIG_DEPTH} levels deep`,
        fix: DEPTH_FIX,
      });
      continue;
    }
    const children: Array<{ node: Node; depth: number; path: PathSegment[] }> = [];
    if (isMap(node)) {
      const seen = new Map<string, Node>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key as Node | null;
        if (++keys > MAX_CONFIG_KEYS) return [tooManyKeys(key?.range?.[0] ?? node.range?.[0] ?? 0, keys)];
        const name = isScalar(key) ? String(key.value) : undefined;
        if (name !== undefined && key) {
          const first = seen.get(name);
          if (first) {
            const at = position(first.range?.[0] ?? 0);
            problems.push({
              offset: key.range?.[0] ?? 0,
              message: `duplicate key \`${name}\`${formatPath(path) ? ` in \`${formatPath(path)}\`` : " at the top level"} (first at line ${at.line}:${at.col})`,
              fix: "keep one of the repeated keys and delete the other",
            });
          } else seen.set(name, key);
        }
        const value = pair.value as Node | null;
        if (value) children.push({ node: value, depth: depth + 1, path: [...path, name ?? "?"] });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        if (item) children.push({ node: item as Node, depth: depth + 1, path: [...path, index] });
      });
    }
    // Pushed in reverse so the walk (and so the problems) follow the document's order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as (typeof children)[number]);
  }
  return problems;
}

function tooManyKeys(offset: number, count: number): StructureProblem {
  return {
    offset,
    message: `the file has more than ${MAX_CONFIG_KEYS} keys (this is key number ${count}); a config file has a few dozen (the example has about 80)`,
    fix: "point --config at the right file, or start again from the example config.yaml",
  };
}

/** 1-based line and column of `offset` in `text` (for problems found before the parser counts lines). */
export function positionIn(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf("\n"); at !== -1 && at < offset; at = text.indexOf("\n", at + 1)) {
    line++;
    lineStart = at + 1;
  }
  return { line, col: offset - lineStart + 1 };
}
