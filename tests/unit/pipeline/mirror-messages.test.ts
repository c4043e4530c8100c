import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  LockHeldError,
  NoMirrorError,
  RunFailedError,
  RunOutOfSpaceError,
  VerifyFailedError,
} from "../../../src/mirror/errors.ts";
import { loadIndex } from "../../../src/mirror/prepare.ts";
import { MIRROR_MESSAGES } from "../../../src/pipeline/error-docs.ts";
import { UnexpectedError } from "../../../src/shared/errors.ts";
import { StorageFullError } from "../../../src/storage/errors.ts";
import { s3Failure } from "../../../src/storage/s3-errors.ts";

const REPO = resolve(import.meta.dirname, "../../..");

/**
 * A documented message as a pattern: `R`, `O`, `URL`… (one capital letter, or URL) stand for any text,
 * and so does `…`; a closing `(exit N)` or `(the run stops as failed)` is the page's own comment.
 */
function pattern(documented: string): RegExp {
  const text = documented.replace(/ \((exit \d+|the run stops as failed)\)$/, "");
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/\b(?:[A-Z]|URL)\b/g, ".+?").replace(/…/g, ".*?")}$`);
}

/** The messages hbsync really prints for each situation the page documents (built by the code itself). */
function printed(): string[] {
  const s3 = { bucket: "mirror-b", location: "s3://mirror-b/p/", operation: "get", key: "_sync/state.json" };
  const full = new StorageFullError("/srv/mirror", "ENOSPC", { key: "bottles/a.tar.gz" });
  return [
    new LockHeldError({ runId: "r1", owner: "ci", expiresAt: "2026-12-02T07:00:00Z" }, "_sync/lock").message,
    new UnexpectedError(new Error("boom")).message,
    new RunOutOfSpaceError({
      runId: "r2",
      full,
      plannedBytes: 5 * 1024 * 1024,
      storedBytes: 2 * 1024 * 1024,
      stored: 12,
      stateSaved: true,
      reportKey: "_sync/runs/r2.json",
    }).message,
    new NoMirrorError("/srv/none", "the folder does not exist").message,
    new NoMirrorError("/srv/empty", "_sync/state.json does not exist").message,
    new VerifyFailedError(2, "/srv/mirror").message,
    s3Failure(s3, { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }).message,
    s3Failure(
      { ...s3, region: "us-east-1" },
      Object.assign(new Error("redirect"), {
        name: "PermanentRedirect",
        $metadata: { httpStatusCode: 301 },
        Region: "eu-west-1",
      }),
    ).message,
    s3Failure(s3, { name: "NoSuchBucket", $metadata: { httpStatusCode: 404 } }).message,
    new RunFailedError("r3", new Error("EACCES: permission denied"), "_sync/runs/r3.json").message,
  ];
}

describe("docs/troubleshooting.md, Mirror sync", () => {
  it("documents only messages hbsync prints: each entry matches one the code builds", async () => {
    const messages = printed();
    // The retry line is the progress reporter's, around the HTTP client's error: both templates, in src.
    const sync = await readFile(resolve(REPO, "src/cli/commands/sync.ts"), "utf8");
    const http = await readFile(resolve(REPO, "src/homebrew/http-client.ts"), "utf8");
    expect(sync).toContain("`retry ${event.attempt} in ${Math.round(event.delayMs)} ms: ${event.error}`");
    expect(http).toContain("`download of ${url} interrupted after ${received} bytes: ${detail}`");
    messages.push("retry 1 in 250 ms: download of https://ghcr.io/v2/x interrupted after 10 bytes: reset");
    // An upstream with neither formula.jws.json nor the tag's per-tag file (the planner's own message).
    const neither = {
      fetchIndex: async () => ({ formulae: [], files: [], rejected: [], missing: ["api/formula.jws.json"] }),
      fetchInternalPackages: async () => null,
    };
    messages.push(
      await loadIndex(neither, ["x86_64_linux"]).then(
        () => "(planned)",
        (error: unknown) => (error as Error).message,
      ),
    );

    for (const entry of MIRROR_MESSAGES) {
      expect(
        messages.filter((message) => pattern(entry.message).test(message)),
        `${entry.message}\n  matches none of:\n  ${messages.join("\n  ")}`,
      ).not.toEqual([]);
    }
  });

  it("documents every situation above (no printed message without its entry)", () => {
    for (const message of printed()) {
      expect(
        MIRROR_MESSAGES.some((entry) => pattern(entry.message).test(message)),
        `no entry for: ${message}`,
      ).toBe(true);
    }
  });
});
