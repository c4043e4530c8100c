import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { currentProcess, holderState, processStartTime } from "../../../src/mirror/lease-process.ts";

const LATER = "2999-01-01T00:00:00.000Z";

/** The pid of a process that ran and was reaped: nothing runs under it now (until the pid is reused). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  if (child.pid === undefined) throw new Error("no pid");
  return child.pid;
}

describe("mirror/lease-process", () => {
  describe("currentProcess", () => {
    it("names this host and pid, with Linux's start time and pid space", () => {
      const here = currentProcess();
      expect(here.pid).toBe(process.pid);
      expect(here.startTime).toMatch(/^\d+$/);
      expect(here.startTime).toBe(processStartTime(process.pid));
      expect(here.pidSpace).toMatch(/^[0-9a-f-]{36}\/pid:\[\d+\]$/);
    });
  });

  describe("holderState", () => {
    const here = currentProcess();

    it("is expired past the lease's expiry, whoever holds it", () => {
      const state = holderState({ expiresAt: "2000-01-01T00:00:00.000Z", process: here }, new Date());
      expect(state).toEqual({ state: "expired", reason: "it expired at 2000-01-01T00:00:00.000Z" });
    });

    it("is live for an unexpired lease that names no process (Lambda, ECS): those expire by time", () => {
      expect(holderState({ expiresAt: LATER }, new Date()).state).toBe("live");
    });

    it("is live while the holding process runs (this one)", () => {
      expect(holderState({ expiresAt: LATER, process: here }, new Date()).state).toBe("live");
    });

    it("is gone when the holder's pid runs nothing on this host any more", async () => {
      const pid = await deadPid();
      const state = holderState({ expiresAt: LATER, process: { ...here, pid } }, new Date());
      expect(state).toEqual({ state: "gone", reason: `process ${pid} on ${here.host} is gone` });
    });

    it("is gone when the pid was recycled: it runs, but started at another time", () => {
      const state = holderState(
        { expiresAt: LATER, process: { ...here, startTime: String(Number(here.startTime) + 1) } },
        new Date(),
      );
      expect(state.state).toBe("gone");
      expect(state.reason).toContain("now belongs to another process");
    });

    it("never judges a process of another machine or pid namespace (same hostname or not)", async () => {
      const pid = await deadPid();
      for (const other of [
        { ...here, pid, host: "another-host" },
        { ...here, pid, pidSpace: "00000000-0000-0000-0000-000000000000/pid:[1]" },
      ]) {
        expect(holderState({ expiresAt: LATER, process: other }, new Date()).state).toBe("live");
      }
    });
  });
});
