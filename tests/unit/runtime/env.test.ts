import { describe, expect, it } from "vitest";
import {
  GIB,
  orchestratorConfigFromEnv,
  requireEnv,
  taskConfigFromEnv,
  workerConfigFromEnv,
} from "../../../src/runtime/env.ts";
import { InvalidEnvError, MissingEnvError } from "../../../src/runtime/errors.ts";

/** What Terraform's homebrew-sync module sets for the orchestrator (runtime + dispatch environment). */
const ORCHESTRATOR_ENV = {
  PROJECT_NAME: "hbsync",
  ENVIRONMENT: "dev",
  MIRROR_BUCKET: "hbsync-dev-mirror-123456789012",
  SIZE_THRESHOLD_GB: "5",
  MIRROR_TAGS: "arm64_sequoia,x86_64_linux",
  MIRROR_FORMULAE_INCLUDE: "",
  MIRROR_FORMULAE_EXCLUDE: "llvm",
  UPSTREAM_API_URL: "https://formulae.brew.sh/api",
  UPSTREAM_REGISTRY_URL: "https://ghcr.io/v2/homebrew/core",
  RETENTION_DAYS: "7",
  CHECKERS_CONCURRENCY: "8",
  TRANSFERS_CONCURRENCY: "4",
  SLACK_ENABLED: "true",
  SLACK_CHANNEL: "#brew",
  EMAIL_ENABLED: "false",
  NOTIFY_EMAIL_TO: "",
  ARTIFACT_VERSION: "3f9c2e1",
  WORKER_FUNCTION_NAME: "hbsync-dev-worker",
  ECS_CLUSTER: "arn:aws:ecs:eu-west-1:123456789012:cluster/hbsync-dev",
  ECS_TASK_DEFINITION: "hbsync-dev-sync",
  ECS_CONTAINER_NAME: "sync",
  ECS_CAPACITY_PROVIDER: "FARGATE_SPOT",
  ECS_SUBNETS: "subnet-a,subnet-b",
  ECS_SECURITY_GROUPS: "sg-1",
  ECS_ASSIGN_PUBLIC_IP: "ENABLED",
};

function without(name: string, env: Record<string, string> = ORCHESTRATOR_ENV): Record<string, string> {
  const copy = { ...env };
  delete copy[name];
  return copy;
}

describe("runtime/env", () => {
  describe("requireEnv", () => {
    it("returns the trimmed value", () => {
      expect(requireEnv("MIRROR_BUCKET", { MIRROR_BUCKET: " bucket " })).toBe("bucket");
    });

    it("fails with the variable's name when it is unset or blank", () => {
      expect(() => requireEnv("MIRROR_BUCKET", {})).toThrow("MIRROR_BUCKET is required");
      expect(() => requireEnv("MIRROR_BUCKET", { MIRROR_BUCKET: "  " })).toThrow(MissingEnvError);
    });
  });

  describe("orchestratorConfigFromEnv", () => {
    it("reads what Terraform sets", () => {
      const config = orchestratorConfigFromEnv(ORCHESTRATOR_ENV);

      expect(config.dest).toBe("s3://hbsync-dev-mirror-123456789012");
      expect(config.thresholdBytes).toBe(5 * GIB);
      expect(config.settings).toEqual({
        tags: ["arm64_sequoia", "x86_64_linux"],
        include: [],
        exclude: ["llvm"],
        layouts: ["flat"],
        retentionDays: 7,
        concurrency: { checkers: 8, transfers: 4 },
      });
      expect(
        orchestratorConfigFromEnv({ ...ORCHESTRATOR_ENV, MIRROR_LAYOUTS: "flat,oci" }).settings.layouts,
      ).toEqual(["flat", "oci"]);
      expect(() => orchestratorConfigFromEnv({ ...ORCHESTRATOR_ENV, MIRROR_LAYOUTS: "oci" })).toThrow(
        InvalidEnvError,
      );
      expect(config.ecs).toEqual({
        cluster: ORCHESTRATOR_ENV.ECS_CLUSTER,
        taskDefinition: "hbsync-dev-sync",
        containerName: "sync",
        capacityProvider: "FARGATE_SPOT",
        subnets: ["subnet-a", "subnet-b"],
        securityGroups: ["sg-1"],
        assignPublicIp: "ENABLED",
      });
      expect(config.notify.notifications?.slack).toEqual({ enabled: true, channel: "#brew" });
      expect(config.upstream.trustedKey).toBe("builtin");
      expect(config.shards).toEqual({ maxTasks: 1, bytesPerTask: 50 * GIB });
    });

    it("reads mirror.shards from ECS_SHARDS_MAX and ECS_SHARD_GB", () => {
      const config = orchestratorConfigFromEnv({
        ...ORCHESTRATOR_ENV,
        ECS_SHARDS_MAX: "4",
        ECS_SHARD_GB: "20",
      });
      expect(config.shards).toEqual({ maxTasks: 4, bytesPerTask: 20 * GIB });
      expect(() => orchestratorConfigFromEnv({ ...ORCHESTRATOR_ENV, ECS_SHARDS_MAX: "17" })).toThrow(
        /ECS_SHARDS_MAX must be a whole number from 1 to 16/,
      );
    });

    it.each([
      "MIRROR_BUCKET",
      "SIZE_THRESHOLD_GB",
      "WORKER_FUNCTION_NAME",
      "ECS_CLUSTER",
      "ECS_TASK_DEFINITION",
      "ECS_CONTAINER_NAME",
      "ECS_SUBNETS",
      "ECS_SECURITY_GROUPS",
    ])("fails fast naming %s when it is missing", (name) => {
      expect(() => orchestratorConfigFromEnv(without(name))).toThrow(`${name} is required`);
    });

    it("refuses a capacity provider ECS does not offer for Fargate", () => {
      expect(() => orchestratorConfigFromEnv({ ...ORCHESTRATOR_ENV, ECS_CAPACITY_PROVIDER: "EC2" })).toThrow(
        InvalidEnvError,
      );
    });

    it("refuses a threshold that is not a number, naming the variable", () => {
      expect(() => orchestratorConfigFromEnv({ ...ORCHESTRATOR_ENV, SIZE_THRESHOLD_GB: "ten" })).toThrow(
        /SIZE_THRESHOLD_GB must be a number/,
      );
    });
  });

  describe("workerConfigFromEnv", () => {
    it("slices four waves of transfers between deadline checks unless told otherwise", () => {
      expect(workerConfigFromEnv({ MIRROR_BUCKET: "b", TRANSFERS_CONCURRENCY: "3" }).sliceSize).toBe(12);
      expect(workerConfigFromEnv({ MIRROR_BUCKET: "b", WORKER_SLICE_SIZE: "2" }).sliceSize).toBe(2);
    });

    it("fails fast naming MIRROR_BUCKET", () => {
      expect(() => workerConfigFromEnv({})).toThrow("MIRROR_BUCKET is required");
    });
  });

  describe("taskConfigFromEnv", () => {
    it("needs the RUN_ID the orchestrator puts in the container overrides", () => {
      expect(() => taskConfigFromEnv({ MIRROR_BUCKET: "b" })).toThrow("RUN_ID is required");
      expect(taskConfigFromEnv({ MIRROR_BUCKET: "b", RUN_ID: "r1" }).runId).toBe("r1");
      expect(taskConfigFromEnv({ MIRROR_BUCKET: "b", RUN_ID: "r1" }).shard).toBeUndefined();
    });

    it("reads one shard of a sharded run from SHARD_INDEX and SHARD_COUNT, both or neither", () => {
      const base = { MIRROR_BUCKET: "b", RUN_ID: "r1" };
      expect(taskConfigFromEnv({ ...base, SHARD_INDEX: "2", SHARD_COUNT: "3" }).shard).toEqual({
        index: 2,
        count: 3,
      });
      expect(() => taskConfigFromEnv({ ...base, SHARD_INDEX: "3", SHARD_COUNT: "3" })).toThrow(
        /SHARD_INDEX must be a whole number from 0 to 2/,
      );
      expect(() => taskConfigFromEnv({ ...base, SHARD_INDEX: "0" })).toThrow("SHARD_COUNT is required");
      expect(() => taskConfigFromEnv({ ...base, SHARD_COUNT: "2" })).toThrow("SHARD_INDEX is required");
    });

    it("opens MIRROR_DEST (a folder or s3:// URL) instead of the bucket when set", () => {
      expect(taskConfigFromEnv({ MIRROR_DEST: "/srv/mirror", RUN_ID: "r1" }).dest).toBe("/srv/mirror");
      expect(taskConfigFromEnv({ MIRROR_BUCKET: "b", MIRROR_PREFIX: "p", RUN_ID: "r1" }).dest).toBe(
        "s3://b/p",
      );
    });
  });
});
