import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HomebrewApiClient } from "../../../src/homebrew/api-client.ts";
import { InvalidUpstreamDataError } from "../../../src/homebrew/errors.ts";
import { signJws } from "../../../src/homebrew/jws.ts";

/**
 * Correctly signed files whose payload is not what the API should hold: the client checks the shape
 * when it fetches (so a sync stops before its first write) and parses the entries when they are first
 * read (a settled re-sync never reads them: src/mirror/settled.ts).
 */
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const served = new Map<string, string>();
let server: Server;
let apiBase = "";

beforeAll(async () => {
  server = createServer((request, response) => {
    const body = served.get(request.url ?? "");
    response.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" });
    response.end(body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function serve(path: string, payload: string): void {
  served.clear();
  served.set(`/api/${path}`, signJws(payload, privateKey));
}

const client = () => new HomebrewApiClient({ apiBase, trustedKey: publicKey, retry: { retries: 0 } });

describe("homebrew/api-client: signed payloads of the wrong shape", () => {
  it("refuses a formula.jws.json whose payload is not an array when fetching", async () => {
    serve("formula.jws.json", '  {"name": "wget"}');

    await expect(client().fetchIndex()).rejects.toThrow(InvalidUpstreamDataError);
    await expect(client().fetchIndex()).rejects.toThrow(/payload is not a JSON array of formulae/);
  });

  it("parses the entries once, when first read; a payload that is not JSON fails there, naming the URL", async () => {
    serve("formula.jws.json", JSON.stringify([{ name: "wget", versions: { stable: "1.0" } }]));
    const index = await client().fetchIndex();
    expect(index.formulae).toBe(index.formulae);
    expect(index.formulae.map((formula) => formula.name)).toEqual(["wget"]);
    expect(index.rejected).toEqual([]);

    serve("formula.jws.json", '[{"name": "wget"');
    const broken = await client().fetchIndex();
    expect(broken.files.map((file) => file.key)).toEqual(["api/formula.jws.json"]);
    expect(() => broken.formulae).toThrow(InvalidUpstreamDataError);
    expect(() => broken.rejected).toThrow(
      /signed payload of http:\/\/127\.0\.0\.1:\d+\/api\/formula\.jws\.json is not valid JSON/,
    );
  });

  it("refuses a packages file whose payload is not an object when fetching", async () => {
    serve("internal/packages.arm64_sonoma.jws.json", "[]");

    await expect(client().fetchInternalPackages("arm64_sonoma")).rejects.toThrow(
      /payload is not a JSON object/,
    );
  });
});
