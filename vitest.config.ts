import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Builds dist/cli when it is stale, so spawned `bin/hbsync.js` runs the built CLI.
    globalSetup: ["tests/helpers/global-setup.ts"],
    // Integration tests start real servers (emulator, s3rver, smtp-server, terraform): give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2-core machines: two workers keep servers and CPU-heavy tests from starving each other.
    maxWorkers: 2,
    // In-process AWS clients would print the SDK's Node 20 support warning once per worker (the CLI
    // silences it in src/cli/main.ts; tests/integration/storage/s3-errors.test.ts checks that).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    pool: "forks",
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "json-summary", "lcov"],
      reportsDirectory: "reports/coverage",
    },
  },
});
