#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so a clone works without a build step.
// (The AWS functions are bundled by `npm run build`; see scripts/build.ts.)
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
