import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type Emulator, type EmulatorOptions, startEmulator } from "../../src/emulator/emulator.ts";

/** An emulator plus its public key written to a PEM file (for `--trusted-key` / `loadTrustedKey`). */
export interface TestEmulator extends Emulator {
  publicKeyPath: string;
}

/** Starts an emulator on loopback and writes its public key to a temp PEM; `close()` removes both. */
export async function startTestEmulator(options: EmulatorOptions = {}): Promise<TestEmulator> {
  const emulator = await startEmulator({ host: "127.0.0.1", ...options });
  const dir = await mkdtemp(join(tmpdir(), "hbsync-test-emulator-"));
  const publicKeyPath = join(dir, "emulator-public.pem");
  await writeFile(publicKeyPath, emulator.publicKeyPem);
  const close = emulator.close;
  return Object.assign(emulator, {
    publicKeyPath,
    close: async () => {
      await close();
      await rm(dir, { recursive: true, force: true });
    },
  });
}

/**
 * Starts one emulator for the enclosing `describe` (beforeAll) and stops it afterwards (afterAll).
 * Returns an accessor, valid inside tests and hooks:
 *
 *   const emulator = withEmulator({ synthetic: { formulae: 20 } });
 *   it("syncs", async () => { const upstream = emulator(); … upstream.api, upstream.publicKeyPath … });
 */
export function withEmulator(options: EmulatorOptions = {}): () => TestEmulator {
  let current: TestEmulator | undefined;
  beforeAll(async () => {
    current = await startTestEmulator(options);
  });
  afterAll(async () => {
    await current?.close();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error("withEmulator: the emulator is only available inside tests and hooks");
    return current;
  };
}
