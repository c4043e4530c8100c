import type { DayField, Schedule } from "../../config/schedule.ts";
import { CostError } from "./errors.ts";

/**
 * How often an EventBridge schedule fires in an average month, and how many of those firings fall
 * inside working hours. Pure arithmetic on the parsed schedule (src/config/schedule.ts).
 *
 * cron: every firing time is counted over a whole calendar period and scaled to an average month:
 * for year `*` the 28 years 2001–2028 (10,227 days = exactly 1,461 weeks and 336 months, a leap year
 * every 4 years, so every weekday and month length occurs in its long-run proportion and the average
 * month is 365.25 / 12 = 30.4375 days); for listed years, the days of those years.
 * rate: firings per day × days per month; rate schedules start from their creation time, so their
 * firings are spread evenly over the clock.
 */
export interface ScheduleRuns {
  runsPerMonth: number;
  /** Of those, firings on Monday–Friday within [workingHoursStartUtc, workingHoursEndUtc). */
  workingHourRunsPerMonth: number;
  /** How the count was made, printed with the estimate. */
  basis: string;
}

export interface CountOptions {
  daysPerMonth: number;
  workingHoursStartUtc: number;
  workingHoursEndUtc: number;
}

const MINUTES_PER_UNIT = { minute: 1, minutes: 1, hour: 60, hours: 60, day: 1440, days: 1440 } as const;
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MS_PER_DAY = 86_400_000;
/** A 28-year span of the Gregorian calendar with no skipped leap year. */
const REFERENCE_YEARS = { first: 2001, last: 2028 } as const;

export function countRuns(schedule: Schedule, options: CountOptions): ScheduleRuns {
  const workingHours = clockHoursInWindow(options);
  if (schedule.kind === "rate") {
    const perDay = 1440 / (schedule.value * MINUTES_PER_UNIT[schedule.unit]);
    const runsPerMonth = perDay * options.daysPerMonth;
    return {
      runsPerMonth,
      workingHourRunsPerMonth: (runsPerMonth * 5 * workingHours) / (7 * 24),
      basis: `rate(${schedule.value} ${schedule.unit}): ${round(perDay)} per day × ${options.daysPerMonth} days`,
    };
  }

  const years =
    schedule.years === "*"
      ? range(REFERENCE_YEARS.first, REFERENCE_YEARS.last)
      : [...new Set(schedule.years)].sort((a, b) => a - b);
  const months = new Set(schedule.months);
  const perDay = schedule.minutes.length * schedule.hours.length;
  const workingPerDay =
    schedule.minutes.length *
    schedule.hours.filter((hour) => hour >= options.workingHoursStartUtc && hour < options.workingHoursEndUtc)
      .length;
  let days = 0;
  let runs = 0;
  let workingRuns = 0;
  for (const year of years) {
    for (let month = 1; month <= 12; month++) {
      const lastDay = daysInMonth(year, month);
      days += lastDay;
      if (!months.has(month)) continue;
      const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay(); // 0 = SUN
      for (let day = 1; day <= lastDay; day++) {
        const weekday = ((firstWeekday + day - 1) % 7) + 1; // 1 = SUN … 7 = SAT
        const date = { year, month, day, lastDay, weekday, firstWeekday };
        if (!matchesDayOfMonth(schedule.daysOfMonth, date)) continue;
        if (!matchesDayOfWeek(schedule.daysOfWeek, date)) continue;
        runs += perDay;
        if (weekday >= 2 && weekday <= 6) workingRuns += workingPerDay;
      }
    }
  }
  const scale = options.daysPerMonth / days;
  const period =
    schedule.years === "*"
      ? `${REFERENCE_YEARS.first}-${REFERENCE_YEARS.last} (28 years)`
      : `the years ${years.join(", ")}`;
  return {
    runsPerMonth: runs * scale,
    workingHourRunsPerMonth: workingRuns * scale,
    basis: `${schedule.source}: ${runs} firings counted over ${period}, ${days} days, scaled to ${options.daysPerMonth} days`,
  };
}

interface CalendarDay {
  year: number;
  month: number;
  day: number;
  lastDay: number;
  /** 1 = SUN … 7 = SAT. */
  weekday: number;
  /** Weekday of the 1st, 0 = SUN … 6 = SAT. */
  firstWeekday: number;
}

function matchesDayOfMonth(field: DayField, date: CalendarDay): boolean {
  if (field === "?") return true;
  if (Array.isArray(field)) return field.includes(date.day);
  const special = field.special.toUpperCase();
  if (special === "L") return date.day === date.lastDay;
  if (special === "LW") return date.day === lastWeekday(date);
  const nearest = /^(\d+)W$/.exec(special);
  if (nearest) return date.day === nearestWeekday(Number(nearest[1]), date);
  throw unsupported("day-of-month", field.special);
}

function matchesDayOfWeek(field: DayField, date: CalendarDay): boolean {
  if (field === "?") return true;
  if (Array.isArray(field)) return field.includes(date.weekday);
  const special = field.special.toUpperCase();
  // A bare L in day-of-week is the last day of the week: Saturday.
  if (special === "L") return date.weekday === 7;
  const last = /^(\w+)L$/.exec(special);
  if (last) return date.weekday === weekdayNumber(last[1] ?? "", field) && date.day + 7 > date.lastDay;
  const nth = /^(\w+)#([1-5])$/.exec(special);
  if (nth) {
    return date.weekday === weekdayNumber(nth[1] ?? "", field) && Math.ceil(date.day / 7) === Number(nth[2]);
  }
  throw unsupported("day-of-week", field.special);
}

function weekdayNumber(text: string, field: { special: string }): number {
  const byName = DAY_NAMES.indexOf(text);
  if (byName >= 0) return byName + 1;
  const value = Number(text);
  if (Number.isInteger(value) && value >= 1 && value <= 7) return value;
  throw unsupported("day-of-week", field.special);
}

function weekdayOf(date: CalendarDay, day: number): number {
  return ((date.firstWeekday + day - 1) % 7) + 1;
}

/** The last Monday–Friday of the month. */
function lastWeekday(date: CalendarDay): number {
  const weekday = weekdayOf(date, date.lastDay);
  if (weekday === 7) return date.lastDay - 1;
  if (weekday === 1) return date.lastDay - 2;
  return date.lastDay;
}

/** `nW`: the weekday nearest to day n, never leaving the month (the Quartz rule EventBridge follows). */
function nearestWeekday(requested: number, date: CalendarDay): number {
  const day = Math.min(requested, date.lastDay);
  const weekday = weekdayOf(date, day);
  if (weekday === 7) return day === 1 ? 3 : day - 1; // Saturday → Friday, or Monday the 3rd
  if (weekday === 1) return day === date.lastDay ? day - 2 : day + 1; // Sunday → Monday, or Friday
  return day;
}

function unsupported(field: string, special: string): CostError {
  return new CostError(`cannot count runs for ${field} \`${special}\``, {
    fix: "use L, LW or nW in day-of-month, or L, nL or n#k in day-of-week",
  });
}

function daysInMonth(year: number, month: number): number {
  return Math.round((Date.UTC(year, month, 1) - Date.UTC(year, month - 1, 1)) / MS_PER_DAY);
}

function clockHoursInWindow(options: CountOptions): number {
  return Math.max(0, Math.min(24, options.workingHoursEndUtc) - Math.max(0, options.workingHoursStartUtc));
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}

function round(value: number): number {
  return Math.round(value * 10000) / 10000;
}
