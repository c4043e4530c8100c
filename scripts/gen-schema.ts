// Writes config.schema.json (what editors validate config.yaml against) from the zod schema in
// src/config/schema.ts. tests/unit/config/json-schema.test.ts fails when the committed file is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderConfigSchema } from "../src/config/json-schema.ts";

const target = fileURLToPath(new URL("../config.schema.json", import.meta.url));
writeFileSync(target, renderConfigSchema());
console.log(`wrote ${target}`);
