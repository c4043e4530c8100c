import { type Document, isMap, isScalar, isSeq, type LineCounter, type Node } from "yaml";
import type { PathSegment } from "./diagnostics.ts";

export interface Position {
  line: number;
  col: number;
}

interface Found {
  /** The key node of the last map segment reached. */
  keyNode: Node | undefined;
  /** The node the path reached (the value of the last segment). */
  valueNode: Node | undefined;
  /** True when every segment of the path exists in the document. */
  complete: boolean;
  /** The container node that the first missing segment would live in. */
  container: Node | undefined;
}

function segmentMatches(key: unknown, segment: PathSegment): boolean {
  if (isScalar(key)) return String(key.value) === String(segment);
  return false;
}

/** Maps paths in the parsed config back to line:col in the YAML text. */
export class Locator {
  constructor(
    private readonly doc: Document | undefined,
    private readonly lineCounter: LineCounter,
  ) {}

  private walk(path: readonly PathSegment[]): Found {
    let node = (this.doc?.contents ?? undefined) as Node | undefined;
    let keyNode: Node | undefined;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => segmentMatches(item.key, segment));
        if (!pair) return { keyNode, valueNode: node, complete: false, container: node };
        keyNode = (pair.key ?? undefined) as Node | undefined;
        node = (pair.value ?? undefined) as Node | undefined;
      } else if (isSeq(node) && typeof segment === "number") {
        const item = node.items[segment] as Node | undefined;
        if (!item) return { keyNode, valueNode: node, complete: false, container: node };
        keyNode = undefined;
        node = item;
      } else {
        return { keyNode, valueNode: node, complete: false, container: node };
      }
    }
    return { keyNode, valueNode: node, complete: true, container: undefined };
  }

  private position(node: Node | undefined): Position | undefined {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    return this.lineCounter.linePos(offset);
  }

  /** Start of the document's content (its first key), or 1:1 for an empty file. */
  private start(): Position {
    return this.position((this.doc?.contents ?? undefined) as Node | undefined) ?? { line: 1, col: 1 };
  }

  /**
   * Where the value at `path` starts. An empty value (`key:`) points at its key. A path that does not
   * exist points at its deepest existing ancestor's key (for a missing key: the parent).
   */
  value(path: readonly PathSegment[]): Position {
    const found = this.walk(path);
    if (found.complete) {
      const node = found.valueNode;
      const empty = !node || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1]);
      return (
        (empty ? undefined : this.position(node)) ??
        this.position(found.keyNode) ??
        this.position(node) ??
        this.start()
      );
    }
    return this.position(found.keyNode) ?? this.position(found.container) ?? this.start();
  }

  /** Where the key of the last segment of `path` starts (for unknown keys); the value for list items. */
  key(path: readonly PathSegment[]): Position {
    const found = this.walk(path);
    if (found.complete && found.keyNode) return this.position(found.keyNode) ?? this.value(path);
    return this.value(path);
  }

  fromOffset(offset: number): Position {
    return this.lineCounter.linePos(offset);
  }
}
