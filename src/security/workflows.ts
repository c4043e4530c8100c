import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from "yaml";
import { makeFinding } from "./suppress.ts";
import type { Finding, RuleMeta } from "./types.ts";

function ghaRule(
  id: string,
  severity: RuleMeta["severity"],
  title: string,
  fix: string,
  checkov?: string[],
): RuleMeta {
  return { id, scanner: "workflows", severity, title, fix, references: checkov ? { checkov } : {} };
}

export const UNPINNED_ACTION = ghaRule(
  "HBS-GHA-001",
  "medium",
  "Action or reusable workflow not pinned to a full 40-character commit SHA",
  "Pin to the commit SHA of a release and keep the tag as a comment: uses: owner/repo@<40-hex sha> # v4.2.1 (Dependabot keeps it updated).",
);
export const MISSING_PERMISSIONS = ghaRule(
  "HBS-GHA-002",
  "medium",
  "Workflow without a top-level permissions block (the token gets the repository default, often write)",
  "Add top-level `permissions: contents: read` and grant more per job only where needed.",
  ["CKV2_GHA_1"],
);
export const BROAD_PERMISSIONS = ghaRule(
  "HBS-GHA-003",
  "high",
  "write-all permissions, or write scopes granted to every job at workflow level",
  "Replace write-all with the scopes a job needs, and move write scopes from the workflow level to that job.",
  ["CKV2_GHA_1"],
);
export const ID_TOKEN_OUTSIDE_DEPLOY = ghaRule(
  "HBS-GHA-004",
  "medium",
  "id-token: write granted at workflow level, or to a job that does not assume an AWS role",
  "Grant id-token: write only on the deploy job that runs aws-actions/configure-aws-credentials.",
);
export const UNTRUSTED_INPUT_IN_RUN = ghaRule(
  "HBS-GHA-005",
  "high",
  "Untrusted input (github.event.*, github.head_ref, free-text inputs) interpolated into a script",
  'Pass the value through an environment variable (env: TITLE: ${{ github.event.issue.title }}) and use "$TITLE" in the script.',
  ["CKV_GHA_2"],
);
export const PULL_REQUEST_TARGET = ghaRule(
  "HBS-GHA-006",
  "high",
  "pull_request_target trigger (runs with secrets and a write token on code from forks)",
  "Use pull_request instead; if pull_request_target is unavoidable, never check out or run the pull request's code.",
);

export const WORKFLOW_RULES: RuleMeta[] = [
  UNPINNED_ACTION,
  MISSING_PERMISSIONS,
  BROAD_PERMISSIONS,
  ID_TOKEN_OUTSIDE_DEPLOY,
  UNTRUSTED_INPUT_IN_RUN,
  PULL_REQUEST_TARGET,
];

export function isWorkflowFile(file: string): boolean {
  return /^(?:.*\/)?\.github\/workflows\/[^/]+\.ya?ml$/.test(file);
}

const SAFE_EVENT_FIELD =
  /\.(number|id|node_id|sha|run_id|run_number|run_attempt|before|after|size|created_at|updated_at|merged|draft|commits|additions|deletions|changed_files)$/;

export interface WorkflowScanOutput {
  findings: Finding[];
  warnings: string[];
}

export function scanWorkflow(file: string, text: string): WorkflowScanOutput {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      findings: [],
      warnings: [`${file}: not valid YAML, skipped (${doc.errors[0]?.message.split("\n")[0]})`],
    };
  }
  const root = doc.contents;
  if (!isMap(root)) return { findings: [], warnings: [] };
  const findings: Finding[] = [];
  const add = (rule: RuleMeta, node: Node | null | undefined, match: string, message: string) => {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    findings.push(makeFinding(rule, { file, line, col, match, message }));
  };
  const addAt = (rule: RuleMeta, offset: number, match: string, message: string) => {
    const { line, col } = lineCounter.linePos(offset);
    findings.push(makeFinding(rule, { file, line, col, match, message }));
  };

  // Triggers.
  const on = root.get("on", true) as Node | undefined;
  const triggers = triggerNames(on);
  const prTarget = triggerNode(on, "pull_request_target");
  if (prTarget)
    add(PULL_REQUEST_TARGET, prTarget, "pull_request_target", "workflow is triggered by pull_request_target");
  const freeTextInputs = freeTextInputNames(on);

  // Top-level permissions.
  const topPermissions = root.get("permissions", true) as Node | undefined;
  const topKey = keyNode(root, "permissions");
  if (topPermissions === undefined) {
    add(MISSING_PERMISSIONS, keyNode(root, "jobs") ?? root, "top-level", "no top-level permissions block");
  } else {
    checkPermissions(topPermissions, topKey, "workflow", true);
  }

  function checkPermissions(node: Node, key: Node | null, scope: string, topLevel: boolean): void {
    if (isScalar(node) && node.value === "write-all") {
      add(BROAD_PERMISSIONS, key ?? node, `${scope}:write-all`, `${scope} permissions are write-all`);
      return;
    }
    if (!isMap(node)) return;
    for (const pair of node.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : "";
      const value = isScalar(pair.value) ? String(pair.value.value) : "";
      if (value !== "write") continue;
      if (name === "id-token") {
        if (topLevel) {
          add(
            ID_TOKEN_OUTSIDE_DEPLOY,
            pair.key as Node,
            `${scope}:id-token`,
            "id-token: write granted to every job at workflow level",
          );
        }
        continue;
      }
      if (topLevel) {
        add(
          BROAD_PERMISSIONS,
          pair.key as Node,
          `${scope}:${name}`,
          `${name}: write granted to every job at workflow level`,
        );
      }
    }
  }

  const jobs = root.get("jobs", true);
  if (isMap(jobs)) {
    for (const jobPair of jobs.items) {
      const jobId = isScalar(jobPair.key) ? String(jobPair.key.value) : "?";
      const job = jobPair.value;
      if (!isMap(job)) continue;
      const jobPermissions = job.get("permissions", true) as Node | undefined;
      if (jobPermissions !== undefined)
        checkPermissions(jobPermissions, keyNode(job, "permissions"), `job ${jobId}`, false);

      const reusable = job.get("uses", true) as Node | undefined;
      if (reusable) checkUses(reusable, `${jobId}:uses`);

      const steps = job.get("steps", true);
      const stepMaps = isSeq(steps) ? steps.items.filter((s): s is YAMLMap => isMap(s)) : [];
      let assumesAwsRole = false;
      stepMaps.forEach((step, index) => {
        const uses = step.get("uses", true) as Node | undefined;
        const usesValue = isScalar(uses) ? String(uses.value) : "";
        if (uses) checkUses(uses, `${jobId}:${index}`);
        if (usesValue.startsWith("aws-actions/configure-aws-credentials@")) assumesAwsRole = true;
        const run = step.get("run", true) as Node | undefined;
        if (isScalar(run)) checkScript(run, `${jobId}:${index}:run`);
        if (usesValue.startsWith("actions/github-script@")) {
          const withMap = step.get("with", true);
          const script = isMap(withMap) ? (withMap.get("script", true) as Node | undefined) : undefined;
          if (isScalar(script)) checkScript(script, `${jobId}:${index}:script`);
        }
      });

      if (isMap(jobPermissions) && !reusable) {
        const idToken = jobPermissions.items.find(
          (p) =>
            isScalar(p.key) && p.key.value === "id-token" && isScalar(p.value) && p.value.value === "write",
        );
        if (idToken && !assumesAwsRole) {
          add(
            ID_TOKEN_OUTSIDE_DEPLOY,
            idToken.key as Node,
            `job ${jobId}:id-token`,
            `job ${jobId} has id-token: write but no aws-actions/configure-aws-credentials step`,
          );
        }
      }
    }
  }

  function checkUses(node: Node, where: string): void {
    if (!isScalar(node)) return;
    const value = String(node.value).trim();
    if (value.startsWith("./")) return;
    if (value.startsWith("docker://")) {
      if (!/@sha256:[0-9a-f]{64}$/.test(value)) {
        add(UNPINNED_ACTION, node, `${where}:${value}`, `${value} is not pinned to an image digest`);
      }
      return;
    }
    if (!/@[0-9a-f]{40}$/.test(value)) {
      add(UNPINNED_ACTION, node, `${where}:${value}`, `${value} is not pinned to a full commit SHA`);
    }
  }

  function checkScript(node: Node, where: string): void {
    if (!isScalar(node)) return;
    const script = String(node.value);
    const [start, , end] = node.range ?? [0, 0, text.length];
    for (const expression of script.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
      const inner = expression[1] ?? "";
      const untrusted = untrustedReference(inner, freeTextInputs);
      if (!untrusted) continue;
      const index = text.indexOf(expression[0], start);
      const offset = index >= 0 && index < end ? index : start;
      addAt(
        UNTRUSTED_INPUT_IN_RUN,
        offset,
        `${where}:${untrusted}`,
        `${untrusted} is interpolated into a script${triggers.has("pull_request_target") ? " of a pull_request_target workflow" : ""}`,
      );
    }
  }

  return { findings, warnings: [] };
}

/** The first untrusted context reference inside a `${{ }}` expression, or null. */
export function untrustedReference(expression: string, freeTextInputs: Set<string>): string | null {
  for (const match of expression.matchAll(/\bgithub\.event(?:\.[A-Za-z0-9_*-]+|\[[^\]]*\])+/g)) {
    const ref = match[0];
    const input = /^github\.event\.inputs\.([A-Za-z0-9_-]+)$/.exec(ref);
    if (input?.[1]) {
      if (freeTextInputs.has(input[1])) return ref;
      continue;
    }
    if (ref.startsWith("github.event.repository.")) continue;
    if (!SAFE_EVENT_FIELD.test(ref)) return ref;
  }
  const headRef = /\bgithub\.head_ref\b/.exec(expression);
  if (headRef) return headRef[0];
  for (const match of expression.matchAll(/(?<![.\w])inputs\.([A-Za-z0-9_-]+)/g)) {
    if (match[1] && freeTextInputs.has(match[1])) return match[0];
  }
  return null;
}

function keyNode(map: YAMLMap, key: string): Node | null {
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return (pair?.key as Node | undefined) ?? null;
}

function triggerNames(on: Node | undefined): Set<string> {
  if (isScalar(on)) return new Set([String(on.value)]);
  if (isSeq(on)) return new Set(on.items.filter(isScalar).map((s) => String(s.value)));
  if (isMap(on))
    return new Set(
      on.items.filter((p) => isScalar(p.key)).map((p) => String((p.key as { value: unknown }).value)),
    );
  return new Set();
}

function triggerNode(on: Node | undefined, name: string): Node | null {
  if (isScalar(on)) return on.value === name ? on : null;
  if (isSeq(on)) return (on.items.find((s) => isScalar(s) && s.value === name) as Node | undefined) ?? null;
  if (isMap(on)) return keyNode(on, name);
  return null;
}

/** Inputs of workflow_dispatch/workflow_call that are free text (type string, or no type). */
function freeTextInputNames(on: Node | undefined): Set<string> {
  const names = new Set<string>();
  if (!isMap(on)) return names;
  for (const trigger of ["workflow_dispatch", "workflow_call"]) {
    const config = on.get(trigger, true);
    const inputs = isMap(config) ? config.get("inputs", true) : undefined;
    if (!isMap(inputs)) continue;
    for (const pair of inputs.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : "";
      const type = isMap(pair.value) ? pair.value.get("type") : undefined;
      if (type === undefined || type === "string") names.add(name);
    }
  }
  return names;
}
