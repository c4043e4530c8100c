/**
 * docker/Dockerfile, read as text (no Docker engine here): what the image promises the ECS module
 * (infra/terraform/modules/ecs) — node:22-slim pinned by digest, a numeric non-root user, scratch data only under
 * /scratch with a read-only root filesystem, nothing but the bundle — and that every file it copies is
 * one `npm run build` produces.
 */
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageNodeFlags } from "../../../bench/lib.ts";
import { buildFunctions } from "../../../scripts/build.ts";

const ROOT = join(import.meta.dirname, "../../..");

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of the last stage (continuation lines joined, comments dropped). */
function finalStage(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, " ");
  const instructions = joined
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
  const lastFrom = instructions.map((instruction) => instruction.keyword).lastIndexOf("FROM");
  return instructions.slice(lastFrom);
}

/** `COPY [--flags] src… dest` → sources. */
function copySources(instruction: Instruction): string[] {
  const parts = instruction.args.split(/\s+/).filter((part) => !part.startsWith("--"));
  return parts.slice(0, -1);
}

let stage: Instruction[];
let ignore: string[];
let outDir: string;

beforeAll(async () => {
  stage = finalStage(await readFile(join(ROOT, "docker/Dockerfile"), "utf8"));
  ignore = (await readFile(join(ROOT, "docker/Dockerfile.dockerignore"), "utf8"))
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  outDir = await mkdtemp(join(tmpdir(), "hbsync-docker-"));
  await buildFunctions({ outDir, only: ["ecs-task"], gitSha: "test" });
}, 60_000);
afterAll(() => rm(outDir, { recursive: true, force: true }));

describe("docker/Dockerfile", () => {
  describe("final stage", () => {
    it("runs on node:22-slim pinned by its digest (a tag can move, a digest cannot)", () => {
      expect(stage[0]?.keyword).toBe("FROM");
      expect(stage[0]?.args).toMatch(/^node:22-slim@sha256:[0-9a-f]{64}$/);
    });

    it("switches to the numeric non-root user the ECS module expects before the entry point", async () => {
      const users = stage.filter((instruction) => instruction.keyword === "USER");
      expect(users.at(-1)?.args).toBe("1000:1000");
      const variables = await readFile(join(ROOT, "infra/terraform/modules/ecs/variables.tf"), "utf8");
      expect(variables).toMatch(/variable "container_user"[\s\S]*?default\s*=\s*"1000:1000"/);
      const userAt = stage.findIndex((instruction) => instruction.keyword === "USER");
      const entryAt = stage.findIndex((instruction) => instruction.keyword === "ENTRYPOINT");
      expect(userAt).toBeGreaterThan(0);
      expect(entryAt).toBeGreaterThan(userAt);
    });

    it("points every scratch location at /scratch, a volume (the root filesystem is read-only)", async () => {
      const env = stage
        .filter((instruction) => instruction.keyword === "ENV")
        .flatMap((instruction) => instruction.args.split(/\s+/))
        .map((pair) => pair.split("="));
      expect(Object.fromEntries(env)).toMatchObject({ TMPDIR: "/scratch", HOME: "/scratch" });
      expect(stage.find((instruction) => instruction.keyword === "VOLUME")?.args).toContain("/scratch");
      const ecs = await readFile(join(ROOT, "infra/terraform/modules/ecs/main.tf"), "utf8");
      expect(ecs).toMatch(/readonlyRootFilesystem\s*=\s*true/);
      expect(ecs).toMatch(/containerPath\s*=\s*"\/scratch"/);
    });

    it("installs nothing: no package manager or compiler runs in the image", () => {
      const runs = stage
        .filter((instruction) => instruction.keyword === "RUN")
        .map((instruction) => instruction.args);
      for (const run of runs)
        expect(run).not.toMatch(/\b(npm|npx|yarn|pnpm|apt-get|apt|gcc|make|tsc|esbuild)\b/);
      const userAt = stage.findIndex((instruction) => instruction.keyword === "USER");
      expect(stage.slice(userAt).filter((instruction) => instruction.keyword === "RUN")).toEqual([]);
    });

    it("runs the bundled task with node, the old generation sized up front (no full GC per 35 MB moved)", () => {
      const entry = stage.find((instruction) => instruction.keyword === "ENTRYPOINT")?.args ?? "";
      expect(JSON.parse(entry)).toEqual(["node", "--initial-old-space-size=64", "/app/task.mjs"]);
    });

    it("gives the bench the entry point's node flags, so its bundled-engine rows run as the image does", () => {
      expect(imageNodeFlags()).toEqual(["--initial-old-space-size=64"]);
    });
  });

  describe("COPY sources", () => {
    it("are files `npm run build` writes under dist/, and the dockerignore lets exactly them through", async () => {
      const sources = stage.filter((instruction) => instruction.keyword === "COPY").flatMap(copySources);

      expect(sources).toContain("dist/ecs-task/task.mjs");
      for (const source of sources) {
        expect(source.startsWith("dist/")).toBe(true);
        await expect(access(join(outDir, relative("dist", source)))).resolves.toBeUndefined();
      }
      expect(ignore[0]).toBe("*");
      expect(
        ignore
          .slice(1)
          .map((line) => line.replace(/^!/, ""))
          .sort(),
      ).toEqual([...sources].sort());
    });
  });
});
