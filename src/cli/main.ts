import { installHeapFloor } from "../shared/heap-floor.ts";
import { installProcessGuard } from "../shared/process-guard.ts";
import { reportUnexpected, run } from "./cli.ts";
import { EXIT } from "./exit-codes.ts";
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

// What the ECS image's `--initial-old-space-size=64` does for the task, for a CLI that `node bin/hbsync.js`
// starts with no flags: fewer full GCs while the heap is small (src/shared/heap-floor.ts).
installHeapFloor();

const output = processOutput();
// An error raised outside any await chain ends the command as failed, in one line. A running sync
// takes it first (it aborts, records the run as failed and releases its lease); with nothing running,
// or a run that does not stop within a minute, the process ends here.
let unexpected = false;
installProcessGuard({
  report: (error, handled) => {
    unexpected = true;
    reportUnexpected(error, output, process.env);
    if (!handled) process.exit(EXIT.FAILED);
    setTimeout(() => process.exit(EXIT.FAILED), 60_000).unref();
  },
});

// The only place in hbsync that ends the process.
const code = await run(process.argv.slice(2), output);
process.exitCode = unexpected && code === EXIT.OK ? EXIT.FAILED : code;
