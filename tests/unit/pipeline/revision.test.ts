import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GitRepo,
  inCheckout,
  isAncestor,
  openRepo,
  resolveCommit,
  sourceRevision,
  withWorktree,
} from "../../../src/pipeline/revision.ts";
import { type TempGitRepo, tempGitRepo } from "../../helpers/git-repo.ts";

/** A real git repository in a temp dir: config.yaml and infra/ over three commits. */
let dir: string;
let repo: GitRepo;
let git: TempGitRepo["git"];
const commits: string[] = [];

beforeAll(async () => {
  const temp = await tempGitRepo();
  ({ dir, git } = temp);
  commits.push(await temp.commit({ "config.yaml": "a: 1\n", "infra/main.tf": "# one\n" }, "one"));
  commits.push(await temp.commit({ "config.yaml": "a: 2\n" }, "two"));
  commits.push(await temp.commit({ "infra/main.tf": "# three\n" }, "three"));
  repo = (await openRepo(dir)) as GitRepo;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("pipeline/revision", () => {
  describe("openRepo", () => {
    it("finds the repository from a subdirectory, and nothing outside one", async () => {
      expect((await openRepo(join(dir, "infra")))?.root).toBe(repo.root);
      expect(await openRepo(tmpdir())).toBeUndefined();
    });
  });

  describe("sourceRevision", () => {
    it("records HEAD, the tree of infra/ and the blob of the config file", async () => {
      const revision = await sourceRevision(repo, {
        infraDir: join(dir, "infra"),
        configFile: join(dir, "config.yaml"),
      });

      expect(revision).toEqual({
        commit: commits[2],
        infra: git("rev-parse", "HEAD:infra"),
        config: git("rev-parse", "HEAD:config.yaml"),
        dirty: false,
      });
    });

    it("marks uncommitted changes to tracked infra/ or config files as dirty, not untracked files", async () => {
      await writeFile(join(dir, "infra/terraform.tfvars"), "x = 1\n");
      const clean = await sourceRevision(repo, {
        infraDir: join(dir, "infra"),
        configFile: join(dir, "config.yaml"),
      });
      await writeFile(join(dir, "config.yaml"), "a: 3\n");
      const dirty = await sourceRevision(repo, {
        infraDir: join(dir, "infra"),
        configFile: join(dir, "config.yaml"),
      });
      git("checkout", "-q", "--", "config.yaml");
      await rm(join(dir, "infra/terraform.tfvars"));

      expect(clean?.dirty).toBe(false);
      expect(dirty?.dirty).toBe(true);
    });
  });

  describe("resolveCommit / isAncestor", () => {
    it("resolves refs to full commit ids and orders commits by ancestry", async () => {
      expect(await resolveCommit(repo, "HEAD~2")).toBe(commits[0]);
      expect(await resolveCommit(repo, (commits[1] ?? "").slice(0, 10))).toBe(commits[1]);
      expect(await resolveCommit(repo, "v-not-a-ref")).toBeUndefined();
      expect(await resolveCommit(repo, "--output=/tmp/x")).toBeUndefined();
      expect(await isAncestor(repo, commits[0] ?? "", commits[2] ?? "")).toBe(true);
      expect(await isAncestor(repo, commits[2] ?? "", commits[0] ?? "")).toBe(false);
      expect(await isAncestor(repo, commits[1] ?? "", commits[1] ?? "")).toBe(false);
    });
  });

  describe("withWorktree", () => {
    it("checks out a recorded commit's files, maps paths into it, and removes it afterwards", async () => {
      let seen = "";
      let checkoutDir = "";
      await withWorktree(repo, commits[0] ?? "", async (checkout) => {
        checkoutDir = checkout;
        seen = await readFile(inCheckout(repo, checkout, dir, "config.yaml") ?? "", "utf8");
        expect(await readFile(join(checkout, "infra/main.tf"), "utf8")).toBe("# one\n");
        expect(inCheckout(repo, checkout, dir, "/etc/hosts")).toBeUndefined();
      });

      expect(seen).toBe("a: 1\n");
      expect(existsSync(checkoutDir)).toBe(false);
      expect(git("worktree", "list")).not.toContain(checkoutDir);
      expect(await readFile(join(dir, "config.yaml"), "utf8")).toBe("a: 2\n");
    });

    it("says the commit is missing from the clone (HBS-DEP-012)", async () => {
      await expect(withWorktree(repo, "0".repeat(40), async () => undefined)).rejects.toMatchObject({
        code: "HBS-DEP-012",
      });
    });
  });
});
