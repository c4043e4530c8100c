import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { type ConnectProxy, startConnectProxy } from "../../helpers/connect-proxy.ts";
import { withEmulator } from "../../helpers/emulator.ts";

const TAG = "arm64_sequoia";

/** `hbsync sync` behind an egress proxy: a real CONNECT proxy on loopback sees every upstream request. */
describe("hbsync sync through a proxy (CLI, emulator and a CONNECT proxy on loopback)", () => {
  const emulator = withEmulator({ fixtures: false, synthetic: { formulae: 8, tags: [TAG] } });
  let workdir = "";
  let proxy: ConnectProxy;

  beforeEach(async () => {
    workdir = await mkdtemp(join(tmpdir(), "hbsync-proxy-"));
    proxy = await startConnectProxy();
    emulator().resetStats();
  });
  afterEach(async () => {
    await proxy.close();
    await rm(workdir, { recursive: true, force: true });
  });

  const hbsync = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const output = memoryOutput();
    const code = await run(args, output, { cwd: workdir, env });
    return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
  };
  const sync = (extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
    hbsync(
      ["sync", "--dest", join(workdir, "mirror"), "--trusted-key", emulator().publicKeyPath, ...extra],
      env,
    );
  const hosts = () => {
    const main = new URL(emulator().api).host;
    const blobs = new URL(emulator().blobHost).host;
    return { main, blobs };
  };
  const writeConfig = (proxyUrl?: string) =>
    writeFile(
      join(workdir, "config.yaml"),
      [
        "project: { name: proxy-test }",
        "environments:",
        '  dev: { aws_region: us-east-1, size_threshold_gb: 5, schedule_expression: "rate(1 day)" }',
        "mirror:",
        `  tags: [${TAG}]`,
        "  upstream:",
        `    api: ${emulator().api}`,
        `    registry: ${emulator().registry}`,
        ...(proxyUrl ? [`    proxy: ${proxyUrl}`] : []),
        "",
      ].join("\n"),
    );

  it("sends every request through mirror.upstream.proxy, and the mirror verifies", async () => {
    await writeConfig(proxy.url);

    const synced = await sync();

    expect(synced.code, synced.stderr).toBe(0);
    expect(new Set(proxy.tunnels)).toEqual(new Set([hosts().main, hosts().blobs]));
    expect(proxy.refused).toEqual([]);
    expect(emulator().stats.blobHostRequests).toBe(8);
    expect((await hbsync(["verify", "--dest", join(workdir, "mirror")])).code).toBe(0);
  });

  it("honours HTTP_PROXY from the environment, and NO_PROXY keeps hosts direct", async () => {
    await writeConfig();

    const proxied = await sync([], { HTTP_PROXY: proxy.url });
    expect(proxied.code, proxied.stderr).toBe(0);
    expect(new Set(proxy.tunnels)).toEqual(new Set([hosts().main, hosts().blobs]));

    proxy.tunnels.length = 0;
    const direct = await sync(["--dest", join(workdir, "direct")], {
      HTTP_PROXY: proxy.url,
      NO_PROXY: "127.0.0.1",
    });
    expect(direct.code, direct.stderr).toBe(0);
    expect(proxy.tunnels).toEqual([]);
  });

  it("refuses a proxy URL with credentials in config.yaml, naming the key and the fix", async () => {
    await writeConfig("http://user:secret@proxy.internal:3128");

    const refused = await sync();

    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("mirror.upstream.proxy");
    expect(refused.stderr).toContain("`mirror.upstream.proxy` holds a URL with a password");
    expect(refused.stderr).toContain("export HTTPS_PROXY=http://user:pass@host:port");
    expect(refused.stderr).not.toContain("secret@");
  });
});
