import { run } from "./cli.ts";
import { processOutput } from "./output.ts";

// A reader that goes away (`hbsync config show | head`) is not an error: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

// The AWS SDK warns on every run under Node 20 that its releases after January 2027 will need Node 22.
// hbsync pins its SDK versions, so the warning tells a CLI user nothing they can act on (set the
// variable to "false" to see it again). Read when the first AWS client is created, so set it first.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// The only place in hbsync that ends the process.
const code = await run(process.argv.slice(2), processOutput());
process.exitCode = code;
