import { describe, expect, it } from "vitest";
import { FsStore } from "../../../src/storage/fs.ts";
import { LazyStore } from "../../../src/storage/lazy.ts";
import { openStore, parseS3Url } from "../../../src/storage/open.ts";
import { S3Store } from "../../../src/storage/s3.ts";

describe("storage/open", () => {
  describe("openStore", () => {
    it("opens a folder, resolved against cwd, as FsStore", () => {
      const store = openStore("mirror", { cwd: "/srv" });

      expect(store).toBeInstanceOf(FsStore);
      expect(store.location).toBe("/srv/mirror");
    });

    it("opens s3://bucket/prefix as S3Store with the endpoint from the environment, path style", async () => {
      const store = openStore("s3://my-mirror/homebrew/", {
        env: { AWS_ENDPOINT_URL: "http://127.0.0.1:9000", AWS_ENDPOINT_URL_S3: "http://127.0.0.1:4569" },
      });

      // Loaded on first use, so folder commands never import the AWS SDK.
      expect(store).toBeInstanceOf(LazyStore);
      expect(store.location).toBe("s3://my-mirror/homebrew/");
      // Declared before the SDK loads: the lease checks for compare-and-swap up front.
      expect(typeof store.replaceIfMatch).toBe("function");
      expect(typeof store.deleteIfMatch).toBe("function");
      expect(typeof openStore("./mirror", { cwd: "/tmp" }).replaceIfMatch).toBe("undefined");
      const s3 = await (store as LazyStore<S3Store>).resolve();
      expect(s3).toBeInstanceOf(S3Store);
      expect([s3.bucket, s3.prefix, s3.location]).toEqual([
        "my-mirror",
        "homebrew/",
        "s3://my-mirror/homebrew/",
      ]);
      const endpoint = await s3.client.config.endpoint?.();
      expect(`${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`).toBe("http://127.0.0.1:4569");
      expect(s3.client.config.forcePathStyle).toBe(true);
      expect(await s3.client.config.requestChecksumCalculation()).toBe("WHEN_REQUIRED");
      await s3.close();
    });

    it("uses AWS's endpoint and virtual-host style when no endpoint is set", async () => {
      const store = await (
        openStore("s3://my-mirror", { env: { AWS_REGION: "eu-west-1" } }) as LazyStore<S3Store>
      ).resolve();

      expect(store.prefix).toBe("");
      expect(store.client.config.forcePathStyle).not.toBe(true);
      expect(await store.client.config.region()).toBe("eu-west-1");
      await store.close();
    });

    it("refuses an invalid prefix when opening, before any request", () => {
      expect(() => openStore("s3://bucket/a/../b")).toThrow(
        expect.objectContaining({ name: "InvalidKeyError" }),
      );
    });

    it("refuses s3:// without a bucket as a usage error", () => {
      expect(() => openStore("s3://")).toThrow(expect.objectContaining({ kind: "usage" }));
      expect(() => parseS3Url("s3:///prefix")).toThrow("names no bucket");
    });
  });
});
