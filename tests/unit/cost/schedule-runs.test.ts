import { describe, expect, it } from "vitest";
import { parseSchedule, type Schedule } from "../../../src/config/schedule.ts";
import { countRuns } from "../../../src/pipeline/cost/schedule-runs.ts";

const OPTIONS = { daysPerMonth: 30.4375, workingHoursStartUtc: 8, workingHoursEndUtc: 18 };

function schedule(expression: string): Schedule {
  const parsed = parseSchedule(expression);
  if (!parsed.ok) throw new Error(`${expression}: ${parsed.message}`);
  return parsed.schedule;
}

function runs(expression: string): number {
  return countRuns(schedule(expression), OPTIONS).runsPerMonth;
}

describe("cost/schedule-runs", () => {
  describe("countRuns", () => {
    // Over 28 years (10,227 days = 1,461 weeks = 336 months) each weekday occurs exactly 1,461 times.
    it("counts a weekly cron with `?` day-of-month and a day-of-week name as 365.25/7/12 runs", () => {
      expect(runs("cron(0 3 ? * SUN *)")).toBeCloseTo(1461 / 336, 10);
      expect(runs("cron(0 3 ? * SUN *)")).toBeCloseTo(4.35, 2);
    });

    it("counts a step in the hours field: cron(0 */6 * * ? *) is 4 a day", () => {
      expect(runs("cron(0 */6 * * ? *)")).toBeCloseTo(4 * 30.4375, 10);
    });

    it("counts an hour range on a day-of-week name range: 9 runs on each of 5 weekdays", () => {
      expect(runs("cron(0 9-17 ? * MON-FRI *)")).toBeCloseTo((9 * 5 * 1461) / 336, 10);
    });

    it("counts minute lists and steps within the hour", () => {
      expect(runs("cron(0,30 * * * ? *)")).toBeCloseTo(48 * 30.4375, 10);
      expect(runs("cron(0/15 * * * ? *)")).toBeCloseTo(96 * 30.4375, 10);
    });

    it("counts numeric day-of-week lists the same as their names (1 = SUN)", () => {
      expect(runs("cron(0 3 ? * 1,7 *)")).toBeCloseTo(runs("cron(0 3 ? * SUN,SAT *)"), 10);
      expect(runs("cron(0 3 ? * 1,7 *)")).toBeCloseTo((2 * 1461) / 336, 10);
    });

    it("counts rate expressions as per-day firings × 30.4375 days", () => {
      expect(runs("rate(5 minutes)")).toBeCloseTo(288 * 30.4375, 10);
      expect(runs("rate(1 day)")).toBeCloseTo(30.4375, 10);
      expect(runs("rate(6 hours)")).toBeCloseTo(4 * 30.4375, 10);
      expect(runs("rate(7 days)")).toBeCloseTo(30.4375 / 7, 10);
    });

    it("counts day-of-month lists and month restrictions over real month lengths", () => {
      // The 1st and 15th of every month: exactly twice a month.
      expect(runs("cron(0 0 1,15 * ? *)")).toBeCloseTo(2, 10);
      // The 31st exists in 7 months of 12.
      expect(runs("cron(0 0 31 * ? *)")).toBeCloseTo(7 / 12, 10);
      // 29 February: 7 leap days in 2001-2028, over 336 months.
      expect(runs("cron(0 0 29 2 ? *)")).toBeCloseTo(7 / 336, 10);
      // Every day of January only: 31 days in 12 months.
      expect(runs("cron(0 0 * JAN ? *)")).toBeCloseTo(31 / 12, 10);
    });

    it("counts the L, W and # forms once a month", () => {
      for (const expression of [
        "cron(0 12 L * ? *)",
        "cron(0 12 LW * ? *)",
        "cron(0 12 15W * ? *)",
        "cron(0 12 ? * 6L *)",
        "cron(0 12 ? * MON#1 *)",
      ]) {
        expect(runs(expression), expression).toBeCloseTo(1, 10);
      }
      // The 5th Monday exists in only some months: fewer than one a month.
      const fifthMonday = runs("cron(0 12 ? * 2#5 *)");
      expect(fifthMonday).toBeGreaterThan(0.2);
      expect(fifthMonday).toBeLessThan(0.5);
    });

    it("averages over the listed years only", () => {
      // New Year's Day in 2026 and 2027: 2 runs over 730 days.
      expect(runs("cron(0 0 1 1 ? 2026-2027)")).toBeCloseTo((2 / 730) * 30.4375, 10);
    });

    it("places nW on the nearest weekday without leaving the month", () => {
      // 1 Feb 2025 is a Saturday: 1W fires on Monday 3 Feb; 30 Nov 2025 is a Sunday: 30W fires on Friday 28 Nov.
      const first = countRuns(schedule("cron(0 12 1W 2 ? 2025)"), OPTIONS);
      const last = countRuns(schedule("cron(0 12 30W 11 ? 2025)"), OPTIONS);
      // Both are weekdays at noon: inside working hours.
      expect(first.runsPerMonth).toBeCloseTo(first.workingHourRunsPerMonth, 10);
      expect(last.runsPerMonth).toBeCloseTo(last.workingHourRunsPerMonth, 10);
      expect(first.runsPerMonth).toBeCloseTo(30.4375 / 365, 10);
    });

    it("counts firings inside Mon-Fri working hours", () => {
      const sixHourly = countRuns(schedule("cron(0 */6 * * ? *)"), OPTIONS);
      // Only 12:00 is inside 08:00-18:00, on 5 days of 7.
      expect(sixHourly.workingHourRunsPerMonth).toBeCloseTo((5 * 1461) / 336, 10);
      const office = countRuns(schedule("cron(0 9-17 ? * MON-FRI *)"), OPTIONS);
      expect(office.workingHourRunsPerMonth).toBeCloseTo(office.runsPerMonth, 10);
      const sunday = countRuns(schedule("cron(0 3 ? * SUN *)"), OPTIONS);
      expect(sunday.workingHourRunsPerMonth).toBe(0);
      const rate = countRuns(schedule("rate(1 hour)"), OPTIONS);
      expect(rate.workingHourRunsPerMonth).toBeCloseTo((24 * 30.4375 * 5 * 10) / (7 * 24), 10);
    });

    it("scales to another month length when daysPerMonth is overridden", () => {
      const thirty = countRuns(schedule("cron(0 3 * * ? *)"), { ...OPTIONS, daysPerMonth: 30 });
      expect(thirty.runsPerMonth).toBeCloseTo(30, 10);
    });

    it("says how it counted", () => {
      expect(countRuns(schedule("cron(0 3 ? * SUN *)"), OPTIONS).basis).toContain("1461 firings");
      expect(countRuns(schedule("rate(5 minutes)"), OPTIONS).basis).toContain("288 per day");
    });
  });
});
