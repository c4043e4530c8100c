import { run } from "./cli.ts";
import { processOutput } from "./output.ts";

// The only place in hbsync that ends the process.
const code = await run(process.argv.slice(2), processOutput());
process.exitCode = code;
