import { positionOf } from "../files.ts";
import { findKey } from "../hcl-text.ts";
import { asStrings, blocksIn, blocksOf, type TfBlock, type TfModule } from "../iac-model.ts";
import { makeFinding } from "../suppress.ts";
import type { Finding, RuleMeta } from "../types.ts";

/** An IAM policy statement normalised from either an aws_iam_policy_document block or a JSON policy. */
export interface PolicyStatement {
  /** The statement's sid, when it has one (used to locate findings). */
  sid?: string;
  effect: "Allow" | "Deny";
  actions: string[];
  notActions: string[];
  resources: string[];
  /** `{ Federated: [...], AWS: [...], Service: [...] }`; `*` principal as `{ "*": ["*"] }`. */
  principals: Record<string, string[]>;
  conditions: Array<{ test: string; variable: string; values: string[] }>;
}

/** A policy document somewhere in a module, with the block and attribute it came from. */
export interface PolicyDocument {
  block: TfBlock;
  /** The attribute holding it (`policy`, `assume_role_policy`), or `statement` for a policy_document. */
  attribute: string;
  statements: PolicyStatement[];
}

/** Attributes that hold a JSON policy, by resource type. */
const POLICY_ATTRIBUTES: Record<string, string[]> = {
  aws_iam_policy: ["policy"],
  aws_iam_role_policy: ["policy"],
  aws_iam_user_policy: ["policy"],
  aws_iam_group_policy: ["policy"],
  aws_iam_role: ["assume_role_policy"],
  aws_s3_bucket_policy: ["policy"],
  aws_sqs_queue_policy: ["policy"],
  aws_sns_topic_policy: ["policy"],
};

/** Every policy document of a module: data sources and inline JSON (jsonencode or literal) policies. */
export function policyDocuments(module: TfModule): PolicyDocument[] {
  const docs: PolicyDocument[] = [];
  for (const block of blocksOf(module, "aws_iam_policy_document", "data")) {
    docs.push({ block, attribute: "statement", statements: fromPolicyDocumentBlock(block.body) });
  }
  for (const [type, attributes] of Object.entries(POLICY_ATTRIBUTES)) {
    for (const block of blocksOf(module, type)) {
      for (const attribute of attributes) {
        const statements = jsonStatements(module, block.body[attribute]);
        if (statements) docs.push({ block, attribute, statements });
      }
      if (type === "aws_iam_role") {
        for (const inline of blocksIn(block.body.inline_policy)) {
          const statements = jsonStatements(module, inline.policy);
          if (statements) docs.push({ block, attribute: "policy", statements });
        }
      }
    }
  }
  return docs;
}

/**
 * The statements behind a policy attribute value: a decoded jsonencode, a JSON string, or a reference to
 * a `data.aws_iam_policy_document.<name>.json` of the same module. Undefined when it cannot be resolved.
 */
export function resolvePolicy(module: TfModule, value: unknown): PolicyStatement[] | undefined {
  if (typeof value === "string") {
    const ref = /^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.json\}$/.exec(value);
    if (ref?.[1]) {
      const block = blocksOf(module, "aws_iam_policy_document", "data").find((b) => b.name === ref[1]);
      return block ? fromPolicyDocumentBlock(block.body) : undefined;
    }
  }
  return jsonStatements(module, value);
}

function jsonStatements(module: TfModule, value: unknown): PolicyStatement[] | undefined {
  let document: unknown;
  if (typeof value === "string" && module.decoded.has(value)) document = module.decoded.get(value);
  else if (typeof value === "string" && value.trim().startsWith("{")) {
    try {
      document = JSON.parse(value);
    } catch {
      return undefined;
    }
  } else if (value && typeof value === "object" && !Array.isArray(value)) document = value;
  if (!document || typeof document !== "object") return undefined;
  const raw = (document as Record<string, unknown>).Statement;
  return blocksIn(raw).map(fromJsonStatement);
}

/** A body's `name` blocks, static ones first, then the `content` of each `dynamic "name"` block. */
function nestedBlocks(body: Record<string, unknown>, name: string): Record<string, unknown>[] {
  const dynamic = blocksIn(body.dynamic).flatMap((d) => blocksIn(d[name]));
  return [...blocksIn(body[name]), ...dynamic.flatMap((d) => blocksIn(d.content))];
}

function fromPolicyDocumentBlock(body: Record<string, unknown>): PolicyStatement[] {
  return nestedBlocks(body, "statement").map((statement) => {
    const principals: Record<string, string[]> = {};
    for (const principal of blocksIn(statement.principals)) {
      const type = String(principal.type ?? "");
      principals[type] = [...(principals[type] ?? []), ...asStrings(principal.identifiers)];
    }
    return {
      ...(typeof statement.sid === "string" ? { sid: statement.sid } : {}),
      effect: statement.effect === "Deny" ? "Deny" : "Allow",
      actions: asStrings(statement.actions),
      notActions: asStrings(statement.not_actions),
      resources: asStrings(statement.resources),
      principals,
      conditions: nestedBlocks(statement, "condition").map((c) => ({
        test: String(c.test ?? ""),
        variable: String(c.variable ?? ""),
        values: asStrings(c.values),
      })),
    };
  });
}

function fromJsonStatement(statement: Record<string, unknown>): PolicyStatement {
  const principals: Record<string, string[]> = {};
  const principal = statement.Principal;
  if (principal === "*") principals["*"] = ["*"];
  else if (principal && typeof principal === "object") {
    for (const [type, ids] of Object.entries(principal)) principals[type] = asStrings(ids);
  }
  const conditions: PolicyStatement["conditions"] = [];
  const condition = statement.Condition;
  if (condition && typeof condition === "object") {
    for (const [test, variables] of Object.entries(condition)) {
      if (!variables || typeof variables !== "object") continue;
      for (const [variable, values] of Object.entries(variables)) {
        conditions.push({ test, variable, values: asStrings(values) });
      }
    }
  }
  return {
    ...(typeof statement.Sid === "string" ? { sid: statement.Sid } : {}),
    effect: statement.Effect === "Deny" ? "Deny" : "Allow",
    actions: asStrings(statement.Action),
    notActions: asStrings(statement.NotAction),
    resources: asStrings(statement.Resource),
    principals,
    conditions,
  };
}

/**
 * Where a statement's finding goes: at `key` (or else `needle`) after the statement's anchor, which is its
 * sid when the text holds it, else its first action.
 */
export function locateInStatement(
  doc: PolicyDocument,
  statement: PolicyStatement,
  needle: string,
  key?: string,
): number {
  const { text, start, end } = doc.block;
  const within = (at: number): boolean => at >= start && at < end;
  let from = start;
  const bySid = statement.sid ? text.indexOf(`"${statement.sid}"`, start) : -1;
  const byAction = statement.actions[0] ? text.indexOf(`"${statement.actions[0]}"`, start) : -1;
  if (within(bySid)) from = bySid;
  else if (within(byAction)) from = byAction;
  if (key) {
    const at = findKey(text, key, from, end);
    if (at >= 0) return at;
  }
  const index = text.indexOf(needle, from);
  if (within(index)) return index;
  const anywhere = text.indexOf(needle, start);
  return within(anywhere) ? anywhere : start;
}

export function statementFinding(
  rule: RuleMeta,
  doc: PolicyDocument,
  offset: number,
  match: string,
  message: string,
): Finding {
  const { line, col } = positionOf(doc.block.text, offset);
  return makeFinding(rule, {
    file: doc.block.file,
    line,
    col,
    match,
    message: `${doc.block.address}: ${message}`,
  });
}
