import { execFile } from "node:child_process";
import { lstatSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ABSENT,
  folderCache,
  LINK,
  LIST_FOLDERS_FROM,
  sizesInWorker,
  sizesOf,
} from "../../../src/storage/fs-sizes.ts";

const run = promisify(execFile);

/** The worker runs sizesOf from its source text: it must answer exactly as this thread does. */
describe("storage/fs-sizes", () => {
  let root = "";
  let outside = "";
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "hbsync-sizes-"));
    outside = await mkdtemp(join(tmpdir(), "hbsync-sizes-outside-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  async function tree(): Promise<string[]> {
    const keys: string[] = [];
    for (let i = 0; i < LIST_FOLDERS_FROM + 6; i++) {
      await mkdir(join(root, `bottles/f${i}/manifests`), { recursive: true });
      await writeFile(join(root, `bottles/f${i}/manifests/1.0`), "m".repeat(i));
      await writeFile(join(root, `bottles/f${i}-1.0.tag.bottle.tar.gz`), "b".repeat(i + 1));
      keys.push(`bottles/f${i}/manifests/1.0`, `bottles/f${i}-1.0.tag.bottle.tar.gz`);
    }
    await mkdir(join(outside, "manifests"));
    await writeFile(join(outside, "manifests/1.0"), "planted");
    await symlink(outside, join(root, "bottles/evil"));
    await symlink(join(root, "bottles/f1-1.0.tag.bottle.tar.gz"), join(root, "bottles/link.tar.gz"));
    keys.push("bottles/evil/manifests/1.0", "bottles/link.tar.gz", "bottles/gone.tar.gz", "bottles/f1");
    return keys;
  }

  const here = (keys: string[]) => {
    const out = new Float64Array(keys.length);
    sizesOf({ lstatSync, readdirSync }, root, keys, 0, keys.length, out, folderCache(), LIST_FOLDERS_FROM);
    return out;
  };

  it("answers in a worker thread what it answers on this one", async () => {
    const keys = await tree();

    const there = await sizesInWorker(root, keys);

    expect(there).toBeInstanceOf(Float64Array);
    expect([...(there ?? [])]).toEqual([...here(keys)]);
    const byKey = new Map(keys.map((key, i) => [key, here(keys)[i]]));
    expect(byKey.get("bottles/f3/manifests/1.0")).toBe(3);
    expect(byKey.get("bottles/f3-1.0.tag.bottle.tar.gz")).toBe(4);
    expect(byKey.get("bottles/evil/manifests/1.0")).toBe(ABSENT);
    expect(byKey.get("bottles/link.tar.gz")).toBe(LINK);
    expect(byKey.get("bottles/gone.tar.gz")).toBe(ABSENT);
    expect(byKey.get("bottles/f1")).toBe(ABSENT);
  });

  it("answers the same when run by tsx (esbuild keeping names, as in development and the benchmarks)", async () => {
    const keys = await tree();
    const module = join(process.cwd(), "src/storage/fs-sizes.ts");
    const program = `import { sizesInWorker } from ${JSON.stringify(module)};
      const sizes = await sizesInWorker(${JSON.stringify(root)}, ${JSON.stringify(keys)});
      process.stdout.write(JSON.stringify(sizes ? [...sizes] : null));`;

    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", program]);

    expect(JSON.parse(stdout)).toEqual([...here(keys)]);
  });

  it("starts no worker once aborted, and a running one is stopped by the abort", async () => {
    const keys = await tree();
    const aborting = new AbortController();

    const running = sizesInWorker(root, keys, aborting.signal);
    aborting.abort();

    expect(await running).toBeUndefined();
    expect(await sizesInWorker(root, keys, AbortSignal.abort())).toBeUndefined();
  });

  it("gives nothing, rather than hanging or throwing, when the worker fails", async () => {
    const notKeys = [42] as unknown as string[];

    expect(await sizesInWorker(root, notKeys)).toBeUndefined();
  });
});
