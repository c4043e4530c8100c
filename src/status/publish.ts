import { mkdir, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { BlobStore } from "../storage/blob-store.ts";
import { StatusPublishError } from "./errors.ts";
import { renderStatusPage } from "./render.ts";
import { statusJson } from "./routes.ts";
import { STATUS_CSS } from "./status-css.ts";
import type { StatusModel } from "./types.ts";

/** The static files `hbsync report` writes, with their content types. */
export function statusFiles(model: StatusModel): Array<{ name: string; contentType: string; body: string }> {
  return [
    { name: "status.css", contentType: "text/css; charset=utf-8", body: STATUS_CSS },
    { name: "status.json", contentType: "application/json; charset=utf-8", body: statusJson(model) },
    // The page last: it links the other two.
    { name: "index.html", contentType: "text/html; charset=utf-8", body: renderStatusPage(model) },
  ];
}

/**
 * Writes index.html, status.css and status.json into a folder (created if needed). Each file is
 * written beside itself and renamed into place, so a web server never serves half a page.
 */
export async function writeStatusFolder(model: StatusModel, dir: string): Promise<string[]> {
  const root = resolve(dir);
  const written: string[] = [];
  try {
    await mkdir(root, { recursive: true });
    for (const file of statusFiles(model)) {
      const target = join(root, file.name);
      const temp = `${target}.${process.pid}.tmp`;
      await writeFile(temp, file.body);
      await rename(temp, target);
      written.push(target);
    }
  } catch (error) {
    throw new StatusPublishError(root, error);
  }
  return written;
}

/** Writes the same files as objects (e.g. into the mirror's bucket) with their content types. */
export async function writeStatusObjects(
  model: StatusModel,
  store: BlobStore,
  prefix = "",
): Promise<string[]> {
  const written: string[] = [];
  for (const file of statusFiles(model)) {
    const key = `${prefix}${file.name}`;
    try {
      await store.put(key, file.body, { contentType: file.contentType });
    } catch (error) {
      throw new StatusPublishError(`${store.location}/${key}`, error);
    }
    written.push(`${store.location}/${key}`);
  }
  return written;
}
