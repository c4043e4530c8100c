import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configJsonSchema, renderConfigSchema, schemaNodeAt } from "../../../src/config/json-schema.ts";

const root = new URL("../../../", import.meta.url);

describe("config/json-schema", () => {
  describe("renderConfigSchema", () => {
    it("matches the committed config.schema.json (run `npm run gen:schema` after changing the schema)", () => {
      expect(readFileSync(new URL("config.schema.json", root), "utf8")).toBe(renderConfigSchema());
    });

    it("is what config.yaml's yaml-language-server comment points at", () => {
      const firstLine = readFileSync(new URL("config.yaml", root), "utf8").split("\n")[0];
      expect(firstLine).toBe("# yaml-language-server: $schema=./config.schema.json");
    });
  });

  describe("configJsonSchema", () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    const validate = ajv.compile(configJsonSchema());

    it("accepts the shipped config.yaml (what an editor would check)", () => {
      const valid = validate(parse(readFileSync(new URL("config.yaml", root), "utf8")));
      expect(validate.errors ?? []).toEqual([]);
      expect(valid).toBe(true);
    });

    it("rejects a mistyped key and an unknown region, as the CLI does", () => {
      const config = parse(readFileSync(new URL("config.yaml", root), "utf8"));
      config.environments.dev.size_treshold_gb = 5;
      config.environments.prod.aws_region = "us-east-9";
      expect(validate(config)).toBe(false);
      expect(validate.errors?.map((e) => e.instancePath).sort()).toEqual([
        "/environments/dev",
        "/environments/prod/aws_region",
      ]);
    });

    it("has every leaf key documented in docs/config.md", () => {
      const docs = readFileSync(new URL("docs/config.md", root), "utf8");
      const undocumented: string[] = [];
      const walk = (path: string[], shown: string[]): void => {
        const node = schemaNodeAt(path);
        if (!node) return;
        const override = shown[0] === "environments" && shown[2] === "resources"; // same keys as resources.*
        const leaf = override || (!node.properties && typeof node.additionalProperties !== "object");
        if (leaf && !docs.includes(`\`${shown.join(".")}\``)) undocumented.push(shown.join("."));
        if (override) return;
        for (const key of Object.keys(node.properties ?? {})) walk([...path, key], [...shown, key]);
        if (typeof node.additionalProperties === "object") walk([...path, "x"], [...shown, "<name>"]);
      };
      walk([], []);
      expect(undocumented).toEqual([]);
    });

    it("describes every key, with a default or an example", () => {
      const missing: string[] = [];
      const walk = (path: string[]): void => {
        const node = schemaNodeAt(path);
        if (!node) return;
        const leaf = !node.properties && typeof node.additionalProperties !== "object";
        if (path.length > 0 && !node.description) missing.push(`${path.join(".")}: description`);
        if (leaf && node.examples === undefined && node.default === undefined) {
          missing.push(`${path.join(".")}: example`);
        }
        for (const key of Object.keys(node.properties ?? {})) walk([...path, key]);
        if (typeof node.additionalProperties === "object") walk([...path, "<env>"]);
      };
      walk([]);
      expect(missing).toEqual([]);
    });
  });
});
