import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  backendConfigArgs,
  backendType,
  declaresVariable,
  environmentDir,
  parseValidate,
  varArgs,
} from "../../../src/pipeline/environment-dir.ts";

const s3Sources = {
  dir: "/x",
  text: 'terraform {\n  backend "s3" {\n    key = "k"\n  }\n}\n# variable "schedule_enabled" {\nvariable "environment" {\n  type = string\n}\n',
};

describe("environment-dir", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-envdir-"));
    await writeFile(join(dir, "backend.hcl"), 'bucket = "b"\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("environmentDir", () => {
    it("defaults to infra/terraform/environments/<env> and substitutes {env} in --dir", () => {
      expect(environmentDir("/repo", "dev")).toBe("/repo/infra/terraform/environments/dev");
      expect(environmentDir("/repo", "dev", "stacks/{env}")).toBe("/repo/stacks/dev");
    });
  });

  describe("declaresVariable / backendType", () => {
    it("reads declarations and ignores commented-out ones", () => {
      expect(declaresVariable(s3Sources, "environment")).toBe(true);
      expect(declaresVariable(s3Sources, "schedule_enabled")).toBe(false);
      expect(backendType(s3Sources)).toBe("s3");
      expect(backendType({ dir: "/x", text: 'resource "terraform_data" "a" {}' })).toBeUndefined();
    });
  });

  describe("backendConfigArgs", () => {
    it("passes files and key=value pairs, then TF_STATE_BUCKET/REGION for an S3 backend", () => {
      const args = backendConfigArgs(s3Sources, {
        backendConfig: ["backend.hcl", "key=other"],
        env: { TF_STATE_BUCKET: "state", TF_STATE_REGION: "eu-west-1" },
        cwd: dir,
      });
      expect(args).toEqual([
        `-backend-config=${join(dir, "backend.hcl")}`,
        "-backend-config=key=other",
        "-backend-config=bucket=state",
        "-backend-config=region=eu-west-1",
      ]);
    });

    it("lets an explicit bucket win over TF_STATE_BUCKET, and ignores the variables for other backends", () => {
      expect(
        backendConfigArgs(s3Sources, {
          backendConfig: ["bucket=mine"],
          env: { TF_STATE_BUCKET: "state" },
          cwd: dir,
        }),
      ).toEqual(["-backend-config=bucket=mine"]);
      expect(
        backendConfigArgs({ dir: "/x", text: "" }, { env: { TF_STATE_BUCKET: "state" }, cwd: dir }),
      ).toEqual([]);
    });

    it("fails with HBS-CFG-005 for a backend config file that does not exist", () => {
      expect(() =>
        backendConfigArgs(s3Sources, { backendConfig: ["missing.hcl"], env: {}, cwd: dir }),
      ).toThrow(/HBS-CFG-005: backend config file missing\.hcl does not exist/);
    });
  });

  describe("varArgs", () => {
    it("writes strings raw and other values as literals", () => {
      expect(varArgs({ a: "x y", b: true, c: 3, d: ["p", "q"] })).toEqual([
        "-var",
        "a=x y",
        "-var",
        "b=true",
        "-var",
        "c=3",
        "-var",
        'd=["p","q"]',
      ]);
    });
  });

  describe("parseValidate", () => {
    it("reads terraform validate -json and treats garbage as invalid", () => {
      expect(parseValidate('{"valid":true,"diagnostics":[]}')).toEqual({ valid: true, diagnostics: [] });
      expect(parseValidate("not json")).toEqual({ valid: false, diagnostics: [] });
    });
  });
});
