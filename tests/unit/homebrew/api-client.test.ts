import { createHash, generateKeyPairSync } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { HomebrewApiClient, trustOf } from "../../../src/homebrew/api-client.ts";
import { SignatureError, UpstreamError } from "../../../src/homebrew/errors.ts";
import { loadTrustedKey } from "../../../src/homebrew/keys.ts";
import { withEmulator } from "../../helpers/emulator.ts";

const bottle = (sha256: string) => ({
  rebuild: 0,
  files: { arm64_sequoia: { cellar: ":any", sha256 } },
});
const GOOD_SHA = "a".repeat(64);
const hostile = [
  { name: "../x", versions: { stable: "1.0" }, revision: 0, bottle: { stable: bottle(GOOD_SHA) } },
  { name: "a/b", versions: { stable: "1.0" }, revision: 0, bottle: { stable: bottle(GOOD_SHA) } },
  { name: "nul\u0000byte", versions: { stable: "1.0" }, revision: 0, bottle: { stable: bottle(GOOD_SHA) } },
  { name: "x".repeat(201), versions: { stable: "1.0" }, revision: 0, bottle: { stable: bottle(GOOD_SHA) } },
  { name: "hugerev", versions: { stable: "1.0" }, revision: 1e18, bottle: { stable: bottle(GOOD_SHA) } },
  {
    name: "hugerebuild",
    versions: { stable: "1.0" },
    revision: 0,
    bottle: { stable: { ...bottle(GOOD_SHA), rebuild: 2 ** 40 } },
  },
  { name: "badsha", versions: { stable: "1.0" }, revision: 0, bottle: { stable: bottle("Z".repeat(64)) } },
  { name: "uppersha", versions: { stable: "1.0" }, revision: 0, bottle: { stable: bottle("A".repeat(64)) } },
  {
    name: "dotdotversion",
    versions: { stable: "../../etc" },
    revision: 0,
    bottle: { stable: bottle(GOOD_SHA) },
  },
  {
    name: "badtag",
    versions: { stable: "1.0" },
    revision: 0,
    bottle: { stable: { rebuild: 0, files: { "../all": { cellar: ":any", sha256: GOOD_SHA } } } },
  },
  { name: "openssl@3", versions: { stable: "9.9" }, revision: 0, bottle: {} },
  "not an object",
];

const fastRetry = { sleep: async () => {} };

describe("homebrew/api-client", () => {
  const emulator = withEmulator({ synthetic: { formulae: 5 }, extraFormulae: hostile });
  const client = () =>
    new HomebrewApiClient({ apiBase: emulator().api, trustedKey: emulator().publicKey, retry: fastRetry });

  beforeEach(() => {
    emulator().faults.clear();
  });

  describe("fetchIndex", () => {
    it("returns the verified formulae with the sha256 of the blobs the emulator serves", async () => {
      const index = await client().fetchIndex();

      expect(index.formulae.map((f) => f.name)).toEqual(emulator().index.formulae.map((f) => f.name));
      const openssl = index.formulae.find((f) => f.name === "openssl@3");
      const served = emulator().index.bottles.find(
        (b) => b.formula === "openssl@3" && b.tag === "x86_64_linux",
      );
      expect(openssl?.bottle.stable?.files.x86_64_linux?.sha256).toBe(served?.sha256);
      expect(index.missing).toEqual([]);
    });

    it("keeps every API file byte-identical, with its sha256 and Last-Modified", async () => {
      const index = await client().fetchIndex();

      expect(index.files.map((file) => file.key)).toEqual([
        "api/formula.jws.json",
        "api/cask.jws.json",
        "api/formula_tap_migrations.jws.json",
        "api/cask_tap_migrations.jws.json",
      ]);
      for (const file of index.files) {
        const upstream = emulator().index.files.get(file.key.slice("api/".length));
        expect(Buffer.from(file.bytes).equals(upstream as Buffer)).toBe(true);
        expect(file.sha256).toBe(createHash("sha256").update(file.bytes).digest("hex"));
        expect(file.lastModified).toBe(emulator().lastModified.toUTCString());
      }
    });

    it("rejects hostile entries of a correctly signed index and says why", async () => {
      const index = await client().fetchIndex();
      const reasons = new Map(index.rejected.map((entry) => [entry.name, entry.reason]));

      expect(reasons.get("../x")).toMatch(/name.*\.\./);
      expect(reasons.get("a/b")).toMatch(/name/);
      expect(reasons.get("nul\\u0000byte")).toMatch(/name/);
      expect(reasons.get("hugerev")).toMatch(/revision/);
      expect(reasons.get("hugerebuild")).toMatch(/rebuild/);
      expect(reasons.get("badsha")).toMatch(/sha256.*hex/);
      expect(reasons.get("uppersha")).toMatch(/sha256.*hex/);
      expect(reasons.get("dotdotversion")).toMatch(/versions\.stable/);
      expect(reasons.get("badtag")).toMatch(/bottle tag/);
      expect(reasons.get("openssl@3")).toMatch(/duplicate/);
      expect(index.rejected.some((entry) => entry.reason.includes("expected object"))).toBe(true);
      expect(index.rejected).toHaveLength(hostile.length);
      const accepted = new Set(index.formulae.map((f) => f.name));
      for (const name of ["../x", "a/b", "hugerev", "badsha", "uppersha", "dotdotversion", "badtag"]) {
        expect(accepted.has(name)).toBe(false);
      }
      expect(index.formulae.find((f) => f.name === "openssl@3")?.versions.stable).toBe("3.0.5");
    });

    it("stops on a tampered formula.jws.json signature", async () => {
      emulator().faults.inject({ match: "/api/formula.jws.json", fault: { kind: "tamper-signature" } });

      const error = await client()
        .fetchIndex()
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(SignatureError);
      expect((error as Error).message).toMatch(/formula\.jws\.json: signature mismatch/);
    });

    it("stops on a tampered signature of an optional file too", async () => {
      emulator().faults.inject({
        match: "/api/cask_tap_migrations.jws.json",
        fault: { kind: "tamper-signature" },
      });

      await expect(client().fetchIndex()).rejects.toThrow(SignatureError);
    });

    it("refuses the emulator's index under Homebrew's real key", async () => {
      const homebrew = new HomebrewApiClient({
        apiBase: emulator().api,
        trustedKey: await loadTrustedKey("builtin"),
      });

      await expect(homebrew.fetchIndex()).rejects.toThrow(/signature mismatch/);
    });

    it("retries 503s and a truncated body, then succeeds", async () => {
      const faults = emulator().faults;
      faults.inject({ match: "/api/formula.jws.json", times: 2, fault: { kind: "status", status: 503 } });
      faults.inject({ match: "/api/formula.jws.json", fault: { kind: "truncate", afterBytes: 100 } });
      const before = emulator().stats.requests.get("/api/formula.jws.json") ?? 0;

      const index = await client().fetchIndex();

      expect(index.formulae.length).toBeGreaterThan(0);
      expect((emulator().stats.requests.get("/api/formula.jws.json") ?? 0) - before).toBe(4);
    });

    it("reports a missing optional file and carries on", async () => {
      emulator().faults.inject({ match: "/api/cask.jws.json", fault: { kind: "status", status: 404 } });

      const index = await client().fetchIndex();

      expect(index.missing).toEqual(["api/cask.jws.json"]);
      expect(index.files.map((file) => file.key)).not.toContain("api/cask.jws.json");
    });

    it("fails with the status and URL when formula.jws.json is missing", async () => {
      emulator().faults.inject({ match: "/api/formula.jws.json", fault: { kind: "status", status: 404 } });

      const error = (await client()
        .fetchIndex()
        .catch((caught: unknown) => caught)) as UpstreamError;

      expect(error).toBeInstanceOf(UpstreamError);
      expect(error.status).toBe(404);
      expect(error.url).toBe(`${emulator().api}/formula.jws.json`);
    });

    it("gives up on a persistent 500 after its retries", async () => {
      emulator().faults.inject({
        match: "/api/formula.jws.json",
        times: Infinity,
        fault: { kind: "status", status: 500 },
      });
      const api = new HomebrewApiClient({
        apiBase: emulator().api,
        trustedKey: emulator().publicKey,
        retry: { retries: 2, sleep: async () => {} },
      });

      await expect(api.fetchIndex()).rejects.toMatchObject({ name: "UpstreamError", status: 500 });
      // Optional means "a 404 is an answer", not "any failure is": a 500 still fails.
      await expect(api.fetchIndex({ formulaOptional: true })).rejects.toMatchObject({ status: 500 });
    });

    it("a 404 on formula.jws.json is an error unless formulaOptional, then it is reported missing", async () => {
      const files = emulator().index.files;
      const formula = files.get("formula.jws.json");
      files.delete("formula.jws.json");
      try {
        await expect(client().fetchIndex()).rejects.toMatchObject({ name: "UpstreamError", status: 404 });

        const index = await client().fetchIndex({ formulaOptional: true });

        expect(index.formulae).toEqual([]);
        expect(index.rejected).toEqual([]);
        expect(index.missing).toContain("api/formula.jws.json");
        expect(index.files.map((file) => file.key)).toContain("api/cask.jws.json");
        expect(index.files.map((file) => file.key)).not.toContain("api/formula.jws.json");
      } finally {
        if (formula) files.set("formula.jws.json", formula);
      }
    });
  });

  describe("files an earlier run accepted (FetchIndexOptions.accepted)", () => {
    // Under Homebrew's real key every emulator file fails its signature check: a file that passes
    // here was not checked.
    const homebrewClient = async () =>
      new HomebrewApiClient({
        apiBase: emulator().api,
        trustedKey: await loadTrustedKey("builtin"),
        retry: fastRetry,
      });
    const acceptedNow = async () => {
      const files = (await client().fetchIndex()).files;
      const packages = await client().fetchInternalPackages("arm64_sequoia");
      return new Map([...files, ...(packages ? [packages] : [])].map((file) => [file.key, file.sha256]));
    };

    it("does not check again the signature of bytes whose sha256 is recorded, and parses them when read", async () => {
      const accepted = await acceptedNow();

      const index = await (await homebrewClient()).fetchIndex({ accepted });
      const packages = await (await homebrewClient()).fetchInternalPackages("arm64_sequoia", { accepted });

      expect(index.files.map((file) => file.accepted)).toEqual(index.files.map(() => true));
      expect(packages?.accepted).toBe(true);
      expect(index.formulae.map((f) => f.name)).toEqual(emulator().index.formulae.map((f) => f.name));
    });

    it("checks every file whose bytes differ from the recorded ones", async () => {
      const accepted = new Map(await acceptedNow());
      accepted.set("api/cask.jws.json", "0".repeat(64));

      await expect((await homebrewClient()).fetchIndex({ accepted })).rejects.toThrow(
        /cask\.jws\.json: signature mismatch/,
      );
      const fresh = await client().fetchIndex({ accepted });
      expect(fresh.files.find((file) => file.key === "api/cask.jws.json")?.accepted).toBeUndefined();
    });

    it("still refuses a tampered signature: other bytes than those recorded", async () => {
      const accepted = await acceptedNow();
      emulator().faults.inject({ match: "/api/formula.jws.json", fault: { kind: "tamper-signature" } });

      await expect(client().fetchIndex({ accepted })).rejects.toThrow(
        /formula\.jws\.json: signature mismatch/,
      );
    });

    it("names the trust by key and kid: another key or kid is another trust", () => {
      const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
      const key = emulator().publicKey;

      expect(client().trust).toBe(trustOf(key));
      expect(trustOf(key)).toMatch(/^[0-9a-f]{64}$/);
      expect(trustOf(other)).not.toBe(trustOf(key));
      expect(trustOf(key, "homebrew-2")).not.toBe(trustOf(key));
    });
  });

  describe("fetchInternalPackages", () => {
    it("returns the verified per-tag packages file", async () => {
      const file = await client().fetchInternalPackages("arm64_sequoia");
      const payload = JSON.parse(JSON.parse(Buffer.from(file?.bytes ?? []).toString()).payload);

      expect(file?.key).toBe("api/internal/packages.arm64_sequoia.jws.json");
      expect(payload.metadata.bottle_tag).toBe("arm64_sequoia");
      expect(payload.formulae.wget.bottle_checksum).toMatch(/^[0-9a-f]{64}$/);
    });

    it("returns null for a tag the upstream has no file for", async () => {
      // brew 6 generates no packages file for mojave (no longer a macOS it knows); nor does the emulator.
      expect(await client().fetchInternalPackages("mojave")).toBeNull();
    });

    it("refuses a tag that is not a tag", async () => {
      await expect(client().fetchInternalPackages("../formula")).rejects.toThrow(/invalid bottle tag/);
    });

    it("stops on a tampered packages signature", async () => {
      emulator().faults.inject({ match: "packages.x86_64_linux", fault: { kind: "tamper-signature" } });

      await expect(client().fetchInternalPackages("x86_64_linux")).rejects.toThrow(SignatureError);
    });
  });
});
