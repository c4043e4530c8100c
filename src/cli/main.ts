import { run } from "./cli.ts";
import { processOutput } from "./output.ts";

// A reader that goes away (`hbsync config show | head`) is not an error: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

// The only place in hbsync that ends the process.
const code = await run(process.argv.slice(2), processOutput());
process.exitCode = code;
