import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parse as parseHcl } from "@cdktf/hcl2json";
import { describe, expect, it } from "vitest";
import { UnknownEnvironmentError } from "../../../src/config/errors.ts";
import { parseConfig } from "../../../src/config/load.ts";
import { resolveEnvironment } from "../../../src/config/resolve.ts";
import {
  hclString,
  renderTfvarsHcl,
  renderTfvarsJson,
  type TfvarValue,
  toTfvars,
} from "../../../src/config/tfvars.ts";
import { TFVAR_NAMES, TFVARS } from "../../../src/config/tfvars-variables.ts";
import type { PipelineConfig } from "../../../src/config/types.ts";

const TERRAFORM = "/usr/local/bin/terraform";
const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
const VERSION = "0123456789abcdef0123456789abcdef01234567";

function shippedConfig(): PipelineConfig {
  const result = parseConfig(readFileSync(new URL("../../../config.yaml", import.meta.url), "utf8"));
  if (!result.config) throw new Error("the shipped config.yaml is invalid");
  return result.config;
}

/** Runs the real `terraform fmt -check` on HCL text; returns its exit status. */
function terraformFmtCheck(text: string): number | null {
  const result = spawnSync(TERRAFORM, ["fmt", "-check", "-"], {
    input: text,
    encoding: "utf8",
    env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_CLI_CONFIG_FILE: "/dev/null" },
  });
  if (result.error) throw result.error;
  return result.status;
}

function typeOf(value: TfvarValue): string {
  if (Array.isArray(value))
    return value.every((item) => typeof item === "string") ? "list(string)" : "list(?)";
  return typeof value === "boolean" ? "bool" : typeof value;
}

describe("config/tfvars", () => {
  const config = shippedConfig();

  describe("toTfvars", () => {
    it.each(ENVIRONMENTS)(
      "produces exactly the TFVARS names, in order and of the declared type, for %s",
      (env) => {
        const values = toTfvars(config, env, { artifactVersion: VERSION });
        expect(Object.keys(values)).toEqual(TFVAR_NAMES);
        for (const spec of TFVARS)
          expect([spec.name, typeOf(values[spec.name] as TfvarValue)]).toEqual([spec.name, spec.type]);
      },
    );

    it("applies the environment's resource overrides and its own settings", () => {
      const dev = toTfvars(config, "dev", { artifactVersion: VERSION });
      const prod = toTfvars(config, "prod", { artifactVersion: VERSION });
      expect([dev.ecs_task_cpu, dev.ecs_task_memory_mb, dev.enable_fargate_spot]).toEqual([1024, 4096, true]);
      expect([prod.ecs_task_cpu, prod.ecs_task_memory_mb, prod.enable_fargate_spot]).toEqual([
        2048,
        8192,
        false,
      ]);
      expect([dev.environment, dev.artifact_version, dev.budget_usd]).toEqual(["dev", VERSION, 25]);
    });

    it("writes an empty slack_channel when none is set", () => {
      const minimal = parseConfig(
        'project: {name: demo}\nenvironments:\n  dev: {aws_region: us-east-1, schedule_expression: "rate(1 day)"}\n',
      ).config as PipelineConfig;
      expect(toTfvars(minimal, "dev", { artifactVersion: "unversioned" })).toMatchObject({
        slack_channel: "",
        slack_enabled: false,
        notification_emails: [],
        budget_usd: 0,
      });
    });

    it("rejects an unknown environment with the list of defined ones", () => {
      expect(() => toTfvars(config, "qa", { artifactVersion: VERSION })).toThrowError(
        UnknownEnvironmentError,
      );
      expect(() => resolveEnvironment(config, "qa")).toThrowError("config.yaml defines dev, staging, prod");
    });
  });

  describe("renderTfvarsHcl", () => {
    it.each(ENVIRONMENTS)("matches the snapshot for %s", async (env) => {
      const text = renderTfvarsHcl(toTfvars(config, env, { artifactVersion: VERSION }), [
        `environment ${env}`,
      ]);
      await expect(text).toMatchFileSnapshot(`../../fixtures/config/tfvars/${env}.tfvars`);
    });

    it.each(ENVIRONMENTS)("is accepted by terraform fmt -check for %s", (env) => {
      const text = renderTfvarsHcl(toTfvars(config, env, { artifactVersion: VERSION }), ["a header comment"]);
      expect(terraformFmtCheck(text)).toBe(0);
    });

    it("is rejected by terraform fmt -check when misaligned (the check can fail)", () => {
      expect(terraformFmtCheck('a = 1\nlonger_name = "x"\n')).not.toBe(0);
    });

    it.each(ENVIRONMENTS)("parses back to the same values for %s", async (env) => {
      const values = toTfvars(config, env, { artifactVersion: VERSION });
      expect(await parseHcl(`${env}.tfvars`, renderTfvarsHcl(values))).toEqual(values);
    });

    it("escapes quotes, backslashes, control characters and template sequences", () => {
      expect(hclString('a "b" \\ c\n\u0001')).toBe('"a \\"b\\" \\\\ c\\n\\u0001"');
      expect(hclString("${var.x} %{if}")).toBe('"$${var.x} %%{if}"');
      const text = renderTfvarsHcl({ tricky: 'x "q" ${y} %{z} é 🍺\t', list: ["a\\b", "c"] });
      expect(terraformFmtCheck(text)).toBe(0);
    });
  });

  describe("renderTfvarsJson", () => {
    it.each(ENVIRONMENTS)("matches the snapshot for %s", async (env) => {
      const text = renderTfvarsJson(toTfvars(config, env, { artifactVersion: VERSION }));
      expect(JSON.parse(text)).toEqual(toTfvars(config, env, { artifactVersion: VERSION }));
      await expect(text).toMatchFileSnapshot(`../../fixtures/config/tfvars/${env}.tfvars.json`);
    });
  });
});
