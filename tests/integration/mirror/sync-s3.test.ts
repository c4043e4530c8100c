import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { startServe } from "../../../src/mirror/serve.ts";
import { syncMirror } from "../../../src/mirror/sync.ts";
import { verifyMirror } from "../../../src/mirror/verify.ts";
import { S3Store } from "../../../src/storage/s3.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";
import { assertServedLikeBrew, clientsFor, expectedBottles, mirrorSettings, TAGS } from "./helpers.ts";

// s3rver ignores If-None-Match (DESIGN.md §7): the lease's create-if-absent is not exercised here
// (the fs tests and the lock unit tests cover it); this proves the S3 code path end to end.
describe("mirror/sync into S3 (s3rver and the emulator on loopback)", () => {
  const emulator = withEmulator({ synthetic: { formulae: 8, tags: ["arm64_sequoia", "x86_64_linux"] } });
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3?.close();
  });

  it("mirrors every bottle and the API into a bucket prefix; serve answers brew's URLs from it", async () => {
    const store = new S3Store({ bucket: s3.bucket, prefix: "mirror", clientConfig: s3.clientConfig });

    const { report } = await syncMirror({
      store,
      ...clientsFor(emulator()),
      settings: mirrorSettings(),
      runId: "s3-full",
    });

    expect(report.status).toBe("succeeded");
    expect(report.counts.transferred).toBe(expectedBottles(emulator()).length);
    const server = await startServe({ store });
    try {
      await assertServedLikeBrew(emulator(), server);
    } finally {
      await server.close();
    }
    expect((await verifyMirror({ store })).problems).toEqual([]);
  });

  it("syncs with `hbsync sync --dest s3://bucket/prefix`, then a no-op re-sync makes zero blob requests", async () => {
    const dest = `s3://${s3.bucket}/cli`;
    const flags = [
      "--dest",
      dest,
      "--upstream-api",
      emulator().api,
      "--upstream-registry",
      emulator().registry,
      "--trusted-key",
      emulator().publicKeyPath,
      "--tags",
      TAGS.join(","),
    ];
    const hbsync = async (args: string[]) => {
      const output = memoryOutput();
      return { code: await run(args, output, { env: s3.env }), output };
    };

    const first = await hbsync(["sync", ...flags]);
    emulator().resetStats();
    const second = await hbsync(["sync", ...flags, "--json"]);

    expect(first.code, first.output.stderr.join("\n")).toBe(0);
    expect(second.code).toBe(0);
    expect(emulator().stats.blobRequests).toBe(0);
    expect((await hbsync(["verify", "--dest", dest])).code).toBe(0);
  });
});
