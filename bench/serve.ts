/**
 * serve: `hbsync serve` (the built CLI, as a user runs it) against nginx on the same folder, loaded by
 * wrk in the same run, --runs times each in rotating order (medians; ratios from one run):
 *   small   --small-files files of --small-kib KiB (bottles/ and api/), each request a random one
 *           (wrk Lua script): requests/s
 *   large   --large-files files of --large-mib MiB: MB/s
 * nginx runs from a generated config (its own prefix, loopback port, `access_log off`, `sendfile on`),
 * once with `worker_processes 1` (one process, as hbsync serve is) and once with `auto` (Debian's
 * default: one per core). hbsync serve runs with --quiet (no request log; nginx logs nothing either).
 * Skips with a message when nginx or wrk is not installed (Debian: `apt-get install nginx wrk`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flag, MiB, median, REPO, type Row, save, uptime } from "./lib.ts";

interface Server {
  name: string;
  start(root: string, port: number): Promise<ChildProcess>;
}

interface WrkResult {
  requestsPerSecond: number;
  mbPerSecond: number;
  errors: number;
}

export async function serve(args: string[]): Promise<Row[]> {
  const missing = ["nginx", "wrk"].filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    const line = `serve: skipped: ${missing.join(" and ")} not installed (Debian: apt-get install nginx wrk)`;
    process.stderr.write(`${line}\n`);
    return [{ run: line }];
  }
  const runs = Math.max(1, flag(args, "runs", 3));
  const seconds = flag(args, "seconds", 8);
  const connections = flag(args, "connections", 32);
  const smallFiles = flag(args, "small-files", 1000);
  const smallKiB = flag(args, "small-kib", 16);
  const largeFiles = flag(args, "large-files", 4);
  const largeMiB = flag(args, "large-mib", 64);

  const dir = await mkdtemp(join(tmpdir(), "hbsync-bench-serve-"));
  // nginx's workers drop root for an unprivileged user: let them read the folder.
  await chmod(dir, 0o755);
  try {
    const root = join(dir, "mirror");
    await mkdir(join(root, "bottles"), { recursive: true });
    await mkdir(join(root, "api"), { recursive: true });
    const smallPaths: string[] = [];
    for (let i = 0; i < smallFiles; i++) {
      const path = i % 10 === 0 ? `api/file${i}.json` : `bottles/small${i}-1.0.arm64_sequoia.bottle.tar.gz`;
      await writeFile(join(root, path), Buffer.alloc(smallKiB * 1024, i % 251));
      smallPaths.push(`/${path}`);
    }
    const largePaths: string[] = [];
    for (let i = 0; i < largeFiles; i++) {
      const path = `bottles/large${i}-1.0.arm64_sequoia.bottle.tar.gz`;
      await writeFile(join(root, path), Buffer.alloc(largeMiB * MiB, i + 1));
      largePaths.push(`/${path}`);
    }
    const smallScript = join(dir, "small.lua");
    const largeScript = join(dir, "large.lua");
    await writeFile(smallScript, luaScript(smallPaths));
    await writeFile(largeScript, luaScript(largePaths));

    const servers: Server[] = [hbsyncServe(), hbsyncServe(false), nginx(dir, 1), nginx(dir, "auto")];
    const samples = new Map<string, { small: WrkResult[]; large: WrkResult[] }>();
    const load: string[] = [uptime()];
    for (let run = 0; run < runs; run++) {
      // Rotating order: each server goes first once in every `servers.length` runs.
      const order = servers.map((_, i) => servers[(i + run) % servers.length] as Server);
      for (const server of order) {
        const port = await freePort();
        const child = await server.start(root, port);
        try {
          const base = `http://127.0.0.1:${port}`;
          const small = wrk(base, smallScript, connections, seconds);
          const large = wrk(base, largeScript, Math.min(connections, 8), seconds);
          const entry = samples.get(server.name) ?? { small: [], large: [] };
          entry.small.push(small);
          entry.large.push(large);
          samples.set(server.name, entry);
        } finally {
          child.kill("SIGTERM");
          await new Promise((resolve) => child.once("exit", resolve));
        }
      }
      load.push(uptime());
    }

    const medianOf = (name: string) => {
      const entry = samples.get(name) ?? { small: [], large: [] };
      return {
        rps: median(entry.small.map((s) => s.requestsPerSecond)),
        mbps: median(entry.large.map((s) => s.mbPerSecond)),
        errors: [...entry.small, ...entry.large].reduce((sum, s) => sum + s.errors, 0),
      };
    };
    const rows: Row[] = servers.map((server) => {
      const m = medianOf(server.name);
      const one = medianOf("nginx (1 worker)");
      const auto = medianOf("nginx (auto workers)");
      const ours = server.name.startsWith("hbsync");
      return {
        run: server.name,
        [`small ${smallKiB} KiB req/s`]: Math.round(m.rps),
        [`large ${largeMiB} MiB MB/s`]: Math.round(m.mbps),
        errors: m.errors,
        "req/s vs nginx 1 | auto": ours ? `${ratio(m.rps, one.rps)} | ${ratio(m.rps, auto.rps)}` : "",
        "MB/s vs nginx 1 | auto": ours ? `${ratio(m.mbps, one.mbps)} | ${ratio(m.mbps, auto.mbps)}` : "",
      };
    });
    rows.push({ run: "targets", "req/s vs nginx 1 | auto": "≥ 0.5", "MB/s vs nginx 1 | auto": "≥ 0.7" });
    await save("serve", {
      runs,
      seconds,
      connections,
      smallFiles,
      smallKiB,
      largeFiles,
      largeMiB,
      uptime: load,
      samples: Object.fromEntries(samples),
      rows,
    });
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function ratio(a: number, b: number): string {
  return b > 0 ? (a / b).toFixed(2) : "—";
}

function onPath(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** A wrk script that requests a random one of `paths` each time. */
function luaScript(paths: string[]): string {
  return [
    `local paths = {${paths.map((p) => JSON.stringify(p)).join(",")}}`,
    "math.randomseed(42)",
    "request = function() return wrk.format('GET', paths[math.random(#paths)]) end",
    "",
  ].join("\n");
}

function wrk(base: string, script: string, connections: number, seconds: number): WrkResult {
  const out = execFileSync(
    "wrk",
    ["-t", "1", "-c", String(connections), "-d", `${seconds}s`, "-s", script, base],
    { encoding: "utf8" },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const transfer = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(out);
  const unit = { B: 1, KB: 1024, MB: MiB, GB: 1024 * MiB }[transfer?.[2] ?? "B"] ?? 1;
  const bytes = Number(transfer?.[1] ?? 0) * unit;
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socket = socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return { requestsPerSecond: rps, mbPerSecond: bytes / 1e6, errors: errors + socket };
}

/** `hbsync serve`; with fastPath false, `--no-fast-path`: node:http answers every request (the baseline). */
function hbsyncServe(fastPath = true): Server {
  return {
    name: fastPath ? "hbsync serve" : "hbsync serve --no-fast-path",
    async start(root, port) {
      const child = spawn(
        process.execPath,
        [
          join(REPO, "bin/hbsync.js"),
          ...["serve", "--dest", root, "--port", String(port), "--quiet", "--json"],
          ...(fastPath ? [] : ["--no-fast-path"]),
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout?.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`hbsync serve exited with ${code}`)));
      });
      return child;
    },
  };
}

function nginx(dir: string, workers: number | "auto"): Server {
  return {
    name: workers === 1 ? "nginx (1 worker)" : "nginx (auto workers)",
    async start(root, port) {
      const prefix = join(dir, `nginx-${workers}`);
      await mkdir(join(prefix, "logs"), { recursive: true });
      const conf = join(prefix, "nginx.conf");
      await writeFile(
        conf,
        [
          `worker_processes ${workers};`,
          "daemon off;",
          "error_log logs/error.log warn;",
          `pid ${join(prefix, "nginx.pid")};`,
          "events { worker_connections 1024; }",
          "http {",
          "  access_log off;",
          "  sendfile on;",
          "  tcp_nopush on;",
          "  keepalive_requests 100000;",
          `  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;`,
          `  fastcgi_temp_path ${prefix}/fcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;`,
          `  server { listen 127.0.0.1:${port}; root ${root}; }`,
          "}",
          "",
        ].join("\n"),
      );
      const child = spawn("nginx", ["-p", prefix, "-c", conf], { stdio: ["ignore", "ignore", "inherit"] });
      await waitForPort(port);
      return child;
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}
