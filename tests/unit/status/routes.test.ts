import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { STATUS_CSP, statusRoutes } from "../../../src/status/routes.ts";
import type { StatusModel } from "../../../src/status/types.ts";
import { entry, runReport, type TempMirror, tempMirror } from "./mirror-files.ts";

const NOW = new Date("2026-03-10T18:00:00.000Z");

describe("status/routes", () => {
  let mirror: TempMirror;
  let server: Server;
  let base = "";
  const passedOn: string[] = [];

  beforeEach(async () => {
    mirror = await tempMirror();
    await mirror.writeState({ "bottles/a-1.arm64_sequoia.bottle.tar.gz": entry("a", "arm64_sequoia", 2048) });
    await mirror.writeRun(runReport("r1", "2026-03-10T12:00:00.000Z", { transferred: 1, bytes: 2048 }));
    const routes = statusRoutes({ store: mirror.store, now: () => NOW });
    passedOn.length = 0;
    server = createServer((req, res) => {
      void routes(req, res).then((handled) => {
        if (handled) return;
        passedOn.push(req.url ?? "");
        res.statusCode = 404;
        res.end();
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
    await mirror.remove();
  });

  describe("statusRoutes", () => {
    it("serves the page at / and /index.html with a policy that allows no script", async () => {
      for (const path of ["/", "/index.html"]) {
        const response = await fetch(`${base}${path}`);
        expect(response.status).toBe(200);
        expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
        expect(response.headers.get("content-security-policy")).toBe(STATUS_CSP);
        expect(STATUS_CSP).not.toContain("script-src");
        expect(await response.text()).toContain('data-bytes="2048"');
      }
    });

    it("serves /status.json with stable field names and ISO dates", async () => {
      const response = await fetch(`${base}/status.json?ignored=1`);
      const model = (await response.json()) as StatusModel;

      expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(Object.keys(model)).toEqual([
        "schemaVersion",
        "generatedAt",
        "location",
        "health",
        "freshness",
        "mirror",
        "runs",
        "deployments",
        "costs",
        "problems",
      ]);
      expect(model.generatedAt).toBe(NOW.toISOString());
      expect(model.freshness.lastSuccessfulSyncAt).toBe("2026-03-10T12:01:00.000Z");
      expect(model.mirror.tags).toEqual([{ tag: "arm64_sequoia", bottles: 1, bytes: 2048 }]);
    });

    it("serves the stylesheet, answers HEAD without a body and refuses other methods", async () => {
      const css = await fetch(`${base}/status.css`);
      expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
      expect(await css.text()).toContain("--text: #1a1a1a");

      const head = await fetch(`${base}/status.json`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(Number(head.headers.get("content-length"))).toBeGreaterThan(0);
      expect(await head.text()).toBe("");

      const post = await fetch(`${base}/`, { method: "POST" });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");
    });

    it("leaves every other path to the caller", async () => {
      for (const path of ["/bottles/a-1.arm64_sequoia.bottle.tar.gz", "/api/formula.jws.json", "/status"]) {
        expect((await fetch(`${base}${path}`)).status).toBe(404);
      }
      expect(passedOn).toEqual([
        "/bottles/a-1.arm64_sequoia.bottle.tar.gz",
        "/api/formula.jws.json",
        "/status",
      ]);
    });

    it("still answers when the state is corrupt, naming it as a problem", async () => {
      await mirror.store.put("_sync/state.json", "{broken");
      const response = await fetch(`${base}/status.json`);
      const model = (await response.json()) as StatusModel;

      expect(response.status).toBe(200);
      expect(model.problems[0]).toMatch(/^_sync\/state\.json: /);
      expect(model.health.status).toBe("warning");
    });

    it("answers 503 with the reason when the store cannot be listed", async () => {
      const broken = Object.create(mirror.store) as typeof mirror.store;
      broken.list = () => {
        throw new Error("connection refused");
      };
      const isolated = createServer(
        (req, res) => void statusRoutes({ store: broken, now: () => NOW })(req, res),
      );
      await new Promise<void>((done) => isolated.listen(0, "127.0.0.1", done));
      try {
        const url = `http://127.0.0.1:${(isolated.address() as AddressInfo).port}`;
        const json = await fetch(`${url}/status.json`);
        const page = await fetch(`${url}/`);

        expect(json.status).toBe(503);
        expect(((await json.json()) as { error: string }).error).toContain("connection refused");
        expect(page.status).toBe(503);
        expect(await page.text()).toContain(
          `could not be collected from ${mirror.store.location}: connection refused`,
        );
      } finally {
        isolated.closeAllConnections();
        await new Promise<void>((done) => isolated.close(() => done()));
      }
    });
  });

  describe("statusRoutes caching (1,000 clients must not mean 1,000 collections)", () => {
    /** The mirror's store, counting the listings a collection makes (it lists the run reports). */
    function counted(): { store: typeof mirror.store; collections: () => number } {
      const store = Object.create(mirror.store) as typeof mirror.store;
      let lists = 0;
      store.list = (prefix: string) => {
        lists++;
        return mirror.store.list(prefix);
      };
      return { store, collections: () => lists };
    }

    async function serving<T>(
      routes: ReturnType<typeof statusRoutes>,
      test: (url: string) => Promise<T>,
    ): Promise<T> {
      const isolated = createServer((req, res) => void routes(req, res));
      await new Promise<void>((done) => isolated.listen(0, "127.0.0.1", done));
      try {
        return await test(`http://127.0.0.1:${(isolated.address() as AddressInfo).port}`);
      } finally {
        isolated.closeAllConnections();
        await new Promise<void>((done) => isolated.close(() => done()));
      }
    }

    it("reuses the model within cacheMs while the state is unchanged, and collects again once a sync rewrote it", async () => {
      const { store, collections } = counted();
      await serving(statusRoutes({ store, now: () => NOW, cacheMs: 60_000 }), async (url) => {
        await fetch(`${url}/status.json`);
        const once = collections();
        await fetch(`${url}/`);
        await fetch(`${url}/status.json`);
        expect(once).toBeGreaterThan(0);
        expect(collections()).toBe(once);

        await mirror.writeState({
          "bottles/a-1.arm64_sequoia.bottle.tar.gz": entry("a", "arm64_sequoia", 2048),
          "bottles/b-1.arm64_sequoia.bottle.tar.gz": entry("b", "arm64_sequoia", 1024),
        });
        const model = (await (await fetch(`${url}/status.json`)).json()) as StatusModel;
        expect(collections()).toBe(2 * once);
        expect(model.mirror.tags).toEqual([{ tag: "arm64_sequoia", bottles: 2, bytes: 3072 }]);
      });
    });

    it("lets concurrent requests share one collection", async () => {
      const { store, collections } = counted();
      await serving(statusRoutes({ store, now: () => NOW }), async (url) => {
        await fetch(`${url}/status.json`);
        const one = collections();
        const fresh = statusRoutes({ store, now: () => NOW });
        await serving(fresh, async (other) => {
          const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${other}/status.json`)));
          expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
        });
        expect(collections()).toBe(2 * one);
      });
    });

    it("serves /status.json with an ETag, 304 for If-None-Match, and a new ETag when the state changes", async () => {
      await serving(statusRoutes({ store: mirror.store, now: () => NOW, cacheMs: 0 }), async (url) => {
        const first = await fetch(`${url}/status.json`);
        const etag = first.headers.get("etag") ?? "";
        expect(etag).toMatch(/^"[\w-]+"$/);
        expect(first.headers.get("cache-control")).toBe("no-cache");

        const again = await fetch(`${url}/status.json`, { headers: { "if-none-match": etag } });
        expect(again.status).toBe(304);
        expect(await again.text()).toBe("");

        await mirror.writeRun(runReport("r2", "2026-03-10T13:00:00.000Z", { transferred: 2, bytes: 10 }));
        const changed = await fetch(`${url}/status.json`, { headers: { "if-none-match": etag } });
        expect(changed.status).toBe(200);
        expect(changed.headers.get("etag")).not.toBe(etag);
      });
    });
  });
});
