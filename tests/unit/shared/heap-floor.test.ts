import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { FLOOR_BYTES, growingPercent, installHeapFloor } from "../../../src/shared/heap-floor.ts";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const run = promisify(execFile);
const MiB = 1024 * 1024;

/**
 * The factors V8 used for the old generation's limit, one per full GC, from `--trace-gc-verbose`
 * (`[HeapController] Limit: old size: … KB, new limit: … KB (4.0)`; the global controller's lines
 * are left out).
 */
function limitFactors(trace: string): number[] {
  return [
    ...trace.matchAll(/\[HeapController\] Limit: old size: \d+ KB, new limit: \d+ KB \(([\d.]+)\)/g),
  ].map((match) => Number(match[1]));
}

describe("shared/heap-floor", () => {
  it("asks for the factor that lifts the limit to the floor, at most V8's own 4 ×, and hands back at half the floor", () => {
    expect(FLOOR_BYTES).toBe(64 * MiB); // the ECS image's --initial-old-space-size=64
    expect(growingPercent(0)).toBe(300);
    expect(growingPercent(4 * MiB)).toBe(300); // 16 × would be more than V8 ever grows
    expect(growingPercent(16 * MiB)).toBe(300);
    expect(growingPercent(17 * MiB)).toBe(277); // the bench's synthetic index: 64 / 17 = 3.76 ×
    expect(growingPercent(31 * MiB)).toBe(107);
    expect(growingPercent(32 * MiB)).toBe(0); // V8's own factor from here on
    expect(growingPercent(500 * MiB)).toBe(0); // the full Homebrew index: sized as without the floor
  });

  it("stays out of a process started with a flag that sizes the old generation (the ECS image's entry point)", () => {
    expect(installHeapFloor(["--initial-old-space-size=64"])).toBeNull();
    expect(installHeapFloor(["--heap_growing_percent=50"])).toBeNull();
    expect(installHeapFloor(["--initial-heap-size", "128"])).toBeNull();
  });

  it("sets the factor V8 then uses after each full GC, and gives V8 its own back above half the floor", async () => {
    // In a child: --trace-gc-verbose prints the factor behind each new limit, and gc() makes full GCs.
    const program = `import { installHeapFloor } from ${JSON.stringify(join(REPO, "src/shared/heap-floor.ts"))};
      import { getHeapStatistics } from "node:v8";
      const floor = Number(process.argv[1]) * getHeapStatistics().used_heap_size;
      const heapFloor = installHeapFloor(process.execArgv, floor);
      const percents = [heapFloor.percent];
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 20)); // the gc observer runs after the GC
        percents.push(heapFloor.percent);
      }
      heapFloor.stop();
      console.log(JSON.stringify({ percents, fullGcs: heapFloor.fullGcs }));`;
    const child = async (floorTimesLive: number) => {
      const { stdout, stderr } = await run(process.execPath, [
        ...["--import", "tsx", "--expose-gc", "--trace-gc-verbose", "--input-type=module"],
        ...["-e", program, String(floorTimesLive)],
      ]);
      const result = JSON.parse(stdout.trim().split("\n").at(-1) as string) as {
        percents: number[];
        fullGcs: number;
      };
      return { ...result, factors: limitFactors(stdout), stderr };
    };

    const lifted = await child(3);
    // V8 knows the flag (an unknown one prints "unrecognized flag" on stderr).
    expect(lifted.stderr).toBe("");
    expect(lifted.fullGcs).toBe(3);
    expect(lifted.percents[0]).toBeGreaterThan(150);
    // Each GC's limit used the percent set before it: 1 + percent / 100 (V8 prints one decimal).
    expect(lifted.factors).toHaveLength(3);
    lifted.factors.forEach((factor, i) => {
      expect(Math.abs(factor - (1 + (lifted.percents[i] as number) / 100))).toBeLessThanOrEqual(0.051);
    });

    const handedBack = await child(1.5);
    expect(handedBack.percents).toEqual([0, 0, 0, 0]);
    expect(handedBack.factors).toHaveLength(3);
  }, 30_000);

  it("is installed by the CLI: its full GCs grow the limit by the floor's factor, not V8's", async () => {
    // --stress-compaction makes full GCs in a short command; V8's own factor there is 1.1.
    const cli = async (flags: string[]) => {
      const { stdout } = await run(
        process.execPath,
        [...flags, join(REPO, "bin/hbsync.js"), "config", "validate", "--config", join(REPO, "config.yaml")],
        { env: { ...process.env, NO_COLOR: "1" } },
      );
      return limitFactors(stdout);
    };

    const floored = await cli(["--trace-gc-verbose", "--stress-compaction"]);
    // The first full GCs can come while the modules load, before main installs the floor.
    expect(floored.length).toBeGreaterThan(3);
    expect(Math.min(...floored.slice(-3))).toBeGreaterThan(2);

    const own = await cli(["--trace-gc-verbose", "--stress-compaction", "--initial-old-space-size=64"]);
    expect(own.length).toBeGreaterThan(3);
    expect(Math.max(...own.slice(-3))).toBeLessThan(2);
  }, 60_000);
});
