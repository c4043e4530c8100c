import { execFile } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshBuild } from "../../../bin/fresh-build.js";
import { buildCli } from "../../../scripts/build.ts";
import { VERSION } from "../../../src/cli/cli.ts";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const run = promisify(execFile);

/** `node bin/hbsync.js` in `root`; stdout. */
async function hbsync(root: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run(process.execPath, [join(root, "bin/hbsync.js")], {
    env: { ...process.env, HBSYNC_FROM_SOURCE: "", ...env },
  });
  return stdout.trim();
}

describe("bin/hbsync.js", () => {
  // A project of its own: the real bin/ and build, a src/cli/main.ts that prints where it runs from.
  let root: string;
  const main = () => join(root, "src/cli/main.ts");

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "hbsync-bin-"));
    cpSync(join(REPO, "bin"), join(root, "bin"), { recursive: true });
    symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
    writeFileSync(join(root, "package.json"), '{ "type": "module" }\n');
    mkdirSync(join(root, "src/cli"), { recursive: true });
    mkdirSync(join(root, "src/homebrew/keys"), { recursive: true });
    cpSync(join(REPO, "src/homebrew/keys/homebrew-1.pem"), join(root, "src/homebrew/keys/homebrew-1.pem"));
    writeFileSync(join(root, "src/cli/greeting.ts"), 'export const greeting: string = "hello";\n');
    writeFileSync(
      main(),
      'import { greeting } from "./greeting.ts";\nconsole.log(greeting, import.meta.url);\n',
    );
  }, 60_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("runs src/ through tsx when there is no build", async () => {
    expect(freshBuild(root)).toEqual({ stale: "dist/cli is missing" });
    expect(await hbsync(root)).toMatch(/^hello file:.*\/src\/cli\/main\.ts$/);
  });

  it("runs the build when every input still has the size and mtime it was built from", async () => {
    await buildCli(root);
    expect(freshBuild(root)).toEqual({ entry: join(root, "dist/cli/main.js") });
    expect(await hbsync(root)).toMatch(/^hello file:.*\/dist\/cli\/main\.js$/);
  });

  it("falls back to src/ when an imported module changed, even to an older mtime", async () => {
    await buildCli(root);
    const file = join(root, "src/cli/greeting.ts");
    const before = statSync(file);
    writeFileSync(file, 'export const greeting: string = "edited";\n');
    utimesSync(file, before.atime, new Date(before.mtimeMs - 60_000));
    expect(freshBuild(root)).toEqual({ stale: "src/cli/greeting.ts changed since the build" });
    expect(await hbsync(root)).toMatch(/^edited file:.*\/src\/cli\/main\.ts$/);

    await buildCli(root);
    expect(await hbsync(root)).toMatch(/^edited file:.*\/dist\/cli\/main\.js$/);
  });

  it("falls back to src/ when an input is gone, or when HBSYNC_FROM_SOURCE=1", async () => {
    await buildCli(root);
    expect(await hbsync(root, { HBSYNC_FROM_SOURCE: "1" })).toMatch(/src\/cli\/main\.ts$/);
    rmSync(join(root, "src/homebrew/keys/homebrew-1.pem"));
    expect(freshBuild(root)).toEqual({
      stale: "src/homebrew/keys/homebrew-1.pem was removed since the build",
    });
    expect(await hbsync(root)).toMatch(/src\/cli\/main\.ts$/);
    cpSync(join(REPO, "src/homebrew/keys/homebrew-1.pem"), join(root, "src/homebrew/keys/homebrew-1.pem"));
  });

  it("lists every module of the import graph and the build's own inputs", async () => {
    await buildCli(root);
    const { inputs } = JSON.parse(readFileSync(join(root, "dist/cli/inputs.json"), "utf8")) as {
      inputs: Array<[string, number, number]>;
    };
    expect(inputs.map(([path]) => path)).toEqual([
      "bin/fresh-build.js",
      "node_modules/.package-lock.json",
      "src/cli/greeting.ts",
      "src/cli/main.ts",
      "src/homebrew/keys/homebrew-1.pem",
    ]);
  });
});

describe("the repository's built CLI (dist/cli, rebuilt by the test set-up when stale)", () => {
  it("is the one bin/hbsync.js runs, so tests that spawn the CLI test the build", () => {
    expect(freshBuild(REPO)).toEqual({ entry: join(REPO, "dist/cli/main.js") });
  });

  it("starts, carries Homebrew's key beside the bundle, and loads a command chunk", async () => {
    expect(readFileSync(join(REPO, "dist/cli/keys/homebrew-1.pem"), "utf8")).toBe(
      readFileSync(join(REPO, "src/homebrew/keys/homebrew-1.pem"), "utf8"),
    );
    const { stdout } = await run(process.execPath, [join(REPO, "dist/cli/main.js"), "--version"]);
    expect(stdout.trim()).toBe(VERSION);
    const help = await run(process.execPath, [join(REPO, "dist/cli/main.js"), "sync", "--help"]);
    expect(help.stdout).toContain("--transfers <n>");
  });

  it("prints the top-level help and version from main.js's static imports alone (no command chunk)", async () => {
    const copy = mkdtempSync(join(tmpdir(), "hbsync-bin-help-"));
    try {
      cpSync(join(REPO, "dist/cli"), copy, { recursive: true });
      const needed = new Set<string>();
      const follow = (file: string): void => {
        if (needed.has(file)) return;
        needed.add(file);
        const text = readFileSync(join(copy, file), "utf8");
        for (const match of text.matchAll(/(?:^|[;\s}])import\s*(?:[^"'();]*?from\s*)?"\.\/([^"]+\.js)"/g)) {
          follow(match[1] as string);
        }
      };
      follow("main.js");
      const removed = readdirSync(copy).filter((file) => file.endsWith(".js") && !needed.has(file));
      for (const file of removed) rmSync(join(copy, file));
      expect(removed.some((file) => file.startsWith("sync-"))).toBe(true);

      for (const args of [["--help"], ["help"], ["--version"]]) {
        const light = await run(process.execPath, [join(copy, "main.js"), ...args]);
        const full = await run(process.execPath, [join(REPO, "dist/cli/main.js"), ...args]);
        expect(light.stdout).toBe(full.stdout);
      }
      const light = await run(process.execPath, [join(copy, "main.js"), "--help"]);
      expect(light.stdout).toContain("sync [options]");
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
