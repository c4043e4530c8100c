import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import type { EmulatorSummary } from "../../../src/cli/commands/emulator.ts";
import { EXIT } from "../../../src/cli/exit-codes.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { verifyJws } from "../../../src/homebrew/jws.ts";
import { parsePublicKeyPem } from "../../../src/homebrew/keys.ts";

const BIN = fileURLToPath(new URL("../../../bin/hbsync.js", import.meta.url));

describe("cli: hbsync emulator", () => {
  it("prints its URLs and key path as JSON, serves a verifiable index, and stops cleanly on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [BIN, "emulator", "--json", "--synthetic", "3", "--tags", "arm64_sequoia"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let stdout = "";
    const summary = await new Promise<EmulatorSummary>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        try {
          resolve(JSON.parse(stdout) as EmulatorSummary);
        } catch {
          // not complete yet
        }
      });
      child.on("exit", () => reject(new Error(`emulator exited early: ${stdout}`)));
    });

    const signed = await (await fetch(`${summary.api}/formula.jws.json`)).text();
    const key = parsePublicKeyPem(readFileSync(summary.publicKeyPath, "utf8"));
    const formulae = JSON.parse(verifyJws(signed, key).payload) as Array<{ name: string }>;
    child.kill("SIGTERM");
    const code = await exited;

    expect(summary.registry).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2\/homebrew\/core$/);
    expect(summary.blobHost).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(formulae.map((f) => f.name)).toEqual(expect.arrayContaining(["openssl@3", "synth00000"]));
    expect(summary.formulae).toBe(formulae.length);
    expect(summary.tags).toContain("arm64_sequoia");
    expect(code).toBe(0);
    expect(existsSync(summary.publicKeyPath)).toBe(false);
  });

  it.each([
    [["emulator", "--port", "http"], /invalid --port http/],
    [["emulator", "--synthetic", "-1"], /invalid --synthetic/],
    [["emulator", "--tags", "arm64_sequoia,../x"], /--tags: unknown bottle tag `\.\.\/x`/],
    [["emulator", "--tags", "arm64_sequia"], /did you mean `arm64_sequoia`/],
  ])("refuses %j with exit 2", async (argv, message) => {
    const output = memoryOutput();

    expect(await run(argv, output)).toBe(EXIT.USAGE);
    expect(output.stderr.join("\n")).toMatch(message);
  });
});
