import type { Command } from "commander";
import { startServe } from "../../mirror/serve.ts";
import { openDestination } from "../../mirror/setup.ts";
import { DeploymentLedger } from "../../pipeline/ledger.ts";
import { errorMessage, UsageError } from "../../shared/errors.ts";
import { statusRoutes } from "../../status/routes.ts";
import type { CliContext } from "../context.ts";
import { loadOptionalConfig } from "./report.ts";

interface ServeFlags {
  dest: string;
  host: string;
  port: string;
  config: string;
  ledger?: string;
  json?: boolean;
  quiet?: boolean;
  fastPath: boolean;
}

/** `hbsync serve --dest DIR`: the mirror over HTTP with brew's URL shapes, until Ctrl-C. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("serve")
    .description(
      "Serve a mirror over HTTP for brew (HOMEBREW_BOTTLE_DOMAIN / HOMEBREW_API_DOMAIN) until Ctrl-C",
    )
    .option("--dest <dir|s3://bucket/prefix>", "the mirror", "./mirror")
    .option("--host <address>", "listen address", "127.0.0.1")
    .option("--port <port>", "port (0: any free port)", "0")
    .option("--config <path>", "config file, for the status page's costs and environments", "config.yaml")
    .option("--ledger <dir|s3://bucket/prefix>", "deployment ledger to show on the status page")
    .option("--quiet", "do not log requests")
    .option(
      "--no-fast-path",
      "answer every request through node:http (by default plain GETs of small files held in memory are answered on the connection itself)",
    )
    .option("--json", "print the URLs as one JSON document")
    .action(async (flags: ServeFlags, command: Command) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new UsageError(`invalid --port ${JSON.stringify(flags.port)}`, {
          fix: "give a port from 0 to 65535",
        });
      }
      const store = openDestination(flags.dest, ctx.cwd, ctx.env);
      const config = await loadOptionalConfig(
        flags.config,
        command.getOptionValueSource("config") === "cli",
        ctx,
      );
      const ledgerStore =
        flags.ledger === undefined ? undefined : openDestination(flags.ledger, ctx.cwd, ctx.env);
      const server = await startServe({
        store,
        // The status page at / (and /status.json for monitoring): bottles and API stay under their roots.
        routes: statusRoutes({
          store,
          ...(ledgerStore ? { ledger: new DeploymentLedger(ledgerStore) } : {}),
          ...(config ? { config } : {}),
        }),
        host: flags.host,
        port,
        fastPath: flags.fastPath,
        ...(flags.quiet
          ? {}
          : { onRequest: (line) => ctx.output.err(`${line.status} ${line.method} ${line.path}`) }),
        // What the client is not told (a key resolving outside the mirror, a read error), even with --quiet.
        onError: (line) =>
          ctx.output.err(
            `hbsync serve: ${line.status} ${line.method} ${line.path}: ${errorMessage(line.error)}`,
          ),
      });
      if (flags.json) {
        ctx.output.json({ url: server.url, bottleDomain: server.bottleDomain, apiDomain: server.apiDomain });
      } else {
        ctx.output.out(`hbsync serve: ${store.location} at ${server.url} (status page: ${server.url}/)`);
        ctx.output.out(`export HOMEBREW_BOTTLE_DOMAIN=${server.bottleDomain}`);
        ctx.output.out(`export HOMEBREW_API_DOMAIN=${server.apiDomain}`);
        ctx.output.out("Press Ctrl-C to stop.");
      }
      const signal = await new Promise<string>((resolve) => {
        const onSignal = (name: NodeJS.Signals): void => {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          resolve(name);
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
      });
      ctx.output.err(`hbsync serve: ${signal}, stopping`);
      await server.close();
      await store.close?.();
      await ledgerStore?.close?.();
    });
}
