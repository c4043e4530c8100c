import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { parseTagsFlag } from "../../config/tags.ts";
import { DEFAULT_SYNTHETIC_TAGS } from "../../emulator/catalog.ts";
import { type Emulator, startEmulator } from "../../emulator/emulator.ts";
import { UsageError } from "../../shared/errors.ts";
import type { CliContext } from "../context.ts";

export interface EmulatorFlags {
  host: string;
  port: string;
  blobPort: string;
  synthetic: string;
  tags?: string;
  json?: boolean;
}

export interface EmulatorSummary {
  api: string;
  registry: string;
  blobHost: string;
  publicKeyPath: string;
  formulae: number;
  bottles: number;
  tags: string[];
}

/**
 * `hbsync emulator`: a local upstream (signed Homebrew API + OCI registry + blob host) until
 * SIGINT/SIGTERM. Point `--upstream-api`, `--upstream-registry` and `--trusted-key` at what it prints.
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("emulator")
    .description("Run a local Homebrew upstream (signed API, OCI registry, blob host) until Ctrl-C")
    .option("--host <address>", "listen address", "127.0.0.1")
    .option("--port <port>", "API + registry port (0: any free port)", "0")
    .option("--blob-port <port>", "blob host port (0: any free port)", "0")
    .option("--synthetic <n>", "synthetic formulae to add to the real fixture entries", "0")
    .option(
      "--tags <tags>",
      `bottle tags of synthetic formulae (default ${DEFAULT_SYNTHETIC_TAGS.join(",")})`,
    )
    .option("--json", "print the URLs as one JSON document")
    .action(async (flags: EmulatorFlags) => {
      await runEmulator(flags, ctx, waitForSignal);
    });
}

/** Starts the emulator, prints where it is, and serves until `stop()` resolves (to a signal name). */
export async function runEmulator(
  flags: EmulatorFlags,
  ctx: CliContext,
  stop: () => Promise<string>,
): Promise<void> {
  const port = parsePort(flags.port, "--port");
  const blobPort = parsePort(flags.blobPort, "--blob-port");
  const synthetic = parseCount(flags.synthetic);
  const tags = flags.tags === undefined ? undefined : parseTagsFlag(flags.tags);
  const emulator = await startEmulator({
    host: flags.host,
    port,
    blobPort,
    ...(synthetic > 0 ? { synthetic: { formulae: synthetic, ...(tags ? { tags } : {}) } } : {}),
  });
  const stopping = stop();
  const dir = await mkdtemp(join(tmpdir(), "hbsync-emulator-"));
  try {
    const publicKeyPath = join(dir, "emulator-public.pem");
    await writeFile(publicKeyPath, emulator.publicKeyPem);
    const summary = summarise(emulator, publicKeyPath);
    if (flags.json) {
      ctx.output.json(summary);
    } else {
      ctx.output.out("hbsync emulator: a local Homebrew upstream");
      ctx.output.out(`  api:         ${summary.api}`);
      ctx.output.out(`  registry:    ${summary.registry}`);
      ctx.output.out(`  blob host:   ${summary.blobHost}`);
      ctx.output.out(`  public key:  ${summary.publicKeyPath}`);
      ctx.output.out(`  serving ${summary.formulae} formulae, ${summary.bottles} bottles`);
      ctx.output.out(
        `sync from it: hbsync sync --upstream-api ${summary.api} --upstream-registry ${summary.registry} --trusted-key ${summary.publicKeyPath}`,
      );
      ctx.output.out("Press Ctrl-C to stop.");
    }
    const signal = await stopping;
    ctx.output.err(`hbsync emulator: ${signal}, stopping`);
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function summarise(emulator: Emulator, publicKeyPath: string): EmulatorSummary {
  const index = emulator.index;
  return {
    api: emulator.api,
    registry: emulator.registry,
    blobHost: emulator.blobHost,
    publicKeyPath,
    formulae: index.formulae.length,
    bottles: index.bottles.length,
    tags: index.tags,
  };
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new UsageError(`invalid ${flag} ${value}`, {
      fix: `give ${flag} a port from 0 to 65535 (0: any free port)`,
    });
  }
  return port;
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 1_000_000) {
    throw new UsageError(`invalid --synthetic ${value}`, {
      fix: "give --synthetic a whole number such as 8000",
    });
  }
  return Number(value);
}
