/**
 * EventBridge schedule expressions: `rate(value unit)` and six-field `cron(minutes hours day-of-month
 * month day-of-week year)`, per the EventBridge user guide ("Cron expressions reference"). Pure: the
 * config validator and the cost estimator both use it.
 */

export type RateUnit = "minute" | "minutes" | "hour" | "hours" | "day" | "days";

/** A day field that is `?` (any), a list of days, or an L / W / # form kept verbatim. */
export type DayField = number[] | "?" | { special: string };

export type Schedule =
  | { kind: "rate"; value: number; unit: RateUnit }
  | {
      kind: "cron";
      minutes: number[];
      hours: number[];
      daysOfMonth: DayField;
      months: number[];
      /** 1 = SUN … 7 = SAT. */
      daysOfWeek: DayField;
      years: number[] | "*";
      source: string;
    };

export type ScheduleResult =
  | { ok: true; schedule: Schedule }
  | { ok: false; message: string; example: string };

const CRON_EXAMPLE = "cron(0 3 ? * SUN *)";
const RATE_EXAMPLE = "rate(6 hours)";
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MINUTES_PER_UNIT: Record<RateUnit, number> = {
  minute: 1,
  minutes: 1,
  hour: 60,
  hours: 60,
  day: 1440,
  days: 1440,
};

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: "minutes", min: 0, max: 59 },
  { name: "hours", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day-of-week", min: 1, max: 7, names: DAYS },
  { name: "year", min: 1970, max: 2199 },
];

class FieldError extends Error {}

function fail(message: string, example: string): ScheduleResult {
  return { ok: false, message, example };
}

/** Parses an EventBridge schedule expression; never throws. */
export function parseSchedule(expr: string): ScheduleResult {
  if (typeof expr !== "string") return fail("schedule_expression must be a string", CRON_EXAMPLE);
  if (expr !== expr.trim()) {
    return fail("remove the spaces around the expression", expr.trim() || CRON_EXAMPLE);
  }
  const rate = /^rate\((.*)\)$/s.exec(expr);
  if (rate) return parseRate(rate[1] ?? "");
  const cron = /^cron\((.*)\)$/s.exec(expr);
  if (cron) return parseCron(cron[1] ?? "", expr);
  return fail(
    `\`${expr}\` is neither cron(…) nor rate(…): EventBridge accepts cron(minutes hours day-of-month month day-of-week year) or rate(value unit)`,
    CRON_EXAMPLE,
  );
}

function parseRate(body: string): ScheduleResult {
  const match = /^(\S+) (\S+)$/.exec(body);
  if (!match) {
    return fail(`rate(${body}) must be a number and a unit separated by one space`, RATE_EXAMPLE);
  }
  const [, rawValue = "", rawUnit = ""] = match;
  if (!/^[0-9]+$/.test(rawValue) || Number(rawValue) < 1 || !Number.isSafeInteger(Number(rawValue))) {
    return fail(`rate value \`${rawValue}\` must be a positive whole number`, RATE_EXAMPLE);
  }
  const value = Number(rawValue);
  if (!(rawUnit in MINUTES_PER_UNIT)) {
    return fail(`rate unit \`${rawUnit}\` must be minute(s), hour(s) or day(s)`, RATE_EXAMPLE);
  }
  const unit = rawUnit as RateUnit;
  const singular = !unit.endsWith("s");
  if (value === 1 && !singular) {
    return fail(`rate(1 …) takes the singular unit \`${unit.slice(0, -1)}\``, `rate(1 ${unit.slice(0, -1)})`);
  }
  if (value > 1 && singular) {
    return fail(`rate(${value} …) takes the plural unit \`${unit}s\``, `rate(${value} ${unit}s)`);
  }
  return { ok: true, schedule: { kind: "rate", value, unit } };
}

function parseCron(body: string, source: string): ScheduleResult {
  if (/[^\S ]/.test(body)) {
    return fail("separate the cron fields with spaces (no tabs or line breaks)", CRON_EXAMPLE);
  }
  const fields = body.trim().split(/ +/).filter(Boolean);
  if (fields.length !== 6) {
    return fail(
      `cron(…) needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
      suggestSixFields(fields),
    );
  }
  const [min = "", hour = "", dom = "", month = "", dow = "", year = ""] = fields;
  if ((dom === "?") === (dow === "?")) {
    // Keep the field the user made specific: `* … SUN` means Sundays, so the day-of-month becomes `?`.
    const example =
      dom === "?"
        ? `cron(${min} ${hour} * ${month} ? ${year})`
        : dom === "*" && dow !== "*"
          ? `cron(${min} ${hour} ? ${month} ${dow} ${year})`
          : `cron(${min} ${hour} ${dom} ${month} ? ${year})`;
    return fail(
      "exactly one of day-of-month and day-of-week must be `?` (EventBridge cannot combine them)",
      isValidCron(example) ? example : CRON_EXAMPLE,
    );
  }
  try {
    const spec = (index: number): FieldSpec => FIELDS[index] as FieldSpec;
    return {
      ok: true,
      schedule: {
        kind: "cron",
        minutes: parseList(min, spec(0)),
        hours: parseList(hour, spec(1)),
        daysOfMonth: parseDayOfMonth(dom, spec(2)),
        months: parseList(month, spec(3)),
        daysOfWeek: parseDayOfWeek(dow, spec(4)),
        years: year === "*" ? "*" : parseList(year, spec(5)),
        source,
      },
    };
  } catch (error) {
    if (error instanceof FieldError) return fail(error.message, CRON_EXAMPLE);
    throw error;
  }
}

function isValidCron(expr: string): boolean {
  return parseSchedule(expr).ok;
}

/** Turns a 5-field crontab (or a near miss) into the 6-field form EventBridge wants, if possible. */
function suggestSixFields(fields: string[]): string {
  if (fields.length === 5) {
    const [min, hour, dom, month, dow] = fields;
    const candidates = [
      `cron(${min} ${hour} ${dom} ${month} ${dow === "*" ? "?" : dow} *)`,
      `cron(${min} ${hour} ? ${month} ${dow} *)`,
      `cron(${min} ${hour} ${dom} ${month} ? *)`,
    ];
    for (const candidate of candidates) if (isValidCron(candidate)) return candidate;
  }
  return CRON_EXAMPLE;
}

function parseDayOfMonth(text: string, spec: FieldSpec): DayField {
  if (text === "?") return "?";
  if (/^(L|LW|([1-9]|[12][0-9]|3[01])W)$/.test(text)) return { special: text };
  if (/[LW#]/i.test(text)) {
    throw new FieldError(`day-of-month \`${text}\`: use L, LW or nW (e.g. 15W) on their own`);
  }
  return parseList(text, spec);
}

function parseDayOfWeek(text: string, spec: FieldSpec): DayField {
  if (text === "?") return "?";
  const day = "([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)";
  if (new RegExp(`^(L|${day}L|${day}#[1-5])$`, "i").test(text)) return { special: text.toUpperCase() };
  if (/[L#]/i.test(text.replace(/(SUN|MON|TUE|WED|THU|FRI|SAT)/gi, ""))) {
    throw new FieldError(`day-of-week \`${text}\`: use L, nL (e.g. 6L) or n#k (e.g. MON#1) on their own`);
  }
  return parseList(text, spec);
}

function parseList(text: string, spec: FieldSpec): number[] {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    if (part === "") throw new FieldError(`${spec.name} \`${text}\` has an empty list item`);
    for (const value of parsePart(part, spec)) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

function parsePart(part: string, spec: FieldSpec): number[] {
  const [rangeText = "", stepText, extra] = part.split("/");
  if (extra !== undefined) throw new FieldError(`${spec.name} \`${part}\` has more than one /`);
  let step = 1;
  if (stepText !== undefined) {
    if (!/^[0-9]+$/.test(stepText) || Number(stepText) < 1) {
      throw new FieldError(`${spec.name} step \`/${stepText}\` must be a positive whole number`);
    }
    step = Number(stepText);
  }
  let start: number;
  let end: number;
  if (rangeText === "*") {
    start = spec.min;
    end = spec.max;
  } else if (rangeText.includes("-")) {
    const [from = "", to = "", more] = rangeText.split("-");
    if (more !== undefined) throw new FieldError(`${spec.name} range \`${rangeText}\` has more than one -`);
    start = parseValue(from, spec);
    end = parseValue(to, spec);
    if (start > end) {
      throw new FieldError(
        `${spec.name} range \`${rangeText}\` runs backwards; write it as a list (e.g. ${from}-${spec.max},${spec.min}-${to})`,
      );
    }
  } else {
    start = parseValue(rangeText, spec);
    // `0/15` means from 0 every 15 up to the field's maximum.
    end = stepText === undefined ? start : spec.max;
  }
  const values: number[] = [];
  for (let value = start; value <= end; value += step) values.push(value);
  return values;
}

function parseValue(text: string, spec: FieldSpec): number {
  const nameIndex = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (nameIndex >= 0) return nameIndex + 1;
  if (!/^[0-9]+$/.test(text)) {
    const names = spec.names ? ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}` : "";
    throw new FieldError(`${spec.name} value \`${text}\` must be ${spec.min}-${spec.max}${names}`);
  }
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    throw new FieldError(`${spec.name} value ${value} is out of range ${spec.min}-${spec.max}`);
  }
  return value;
}

function minCyclicGap(sorted: number[], period: number): number {
  if (sorted.length === 0) return Number.POSITIVE_INFINITY;
  let gap = period - (sorted[sorted.length - 1] as number) + (sorted[0] as number);
  for (let i = 1; i < sorted.length; i++)
    gap = Math.min(gap, (sorted[i] as number) - (sorted[i - 1] as number));
  return gap;
}

/** The smallest number of whole days between two days a cron schedule may run on. */
function minDayGap(schedule: Extract<Schedule, { kind: "cron" }>): number {
  const dow = schedule.daysOfWeek;
  const dom = schedule.daysOfMonth;
  if (Array.isArray(dow)) return minCyclicGap(dow, 7);
  if (Array.isArray(dom)) {
    // Across a month boundary the gap is at least (28 - last + first) days.
    return Math.max(1, minCyclicGap(dom, 28));
  }
  const special = typeof dow === "object" ? dow.special : typeof dom === "object" ? dom.special : "";
  // `#` and the month's L/W forms run about monthly; weekday L (nL) monthly too; a bare day-of-week L weekly.
  if (special === "L" && typeof dow === "object") return 7;
  return special ? 28 : 1;
}

/**
 * A lower bound on the gap, in minutes, between two consecutive runs of a schedule: exact for rate(…)
 * and for the usual cron forms; never larger than the real smallest gap.
 */
export function intervalMinutesLowerBound(schedule: Schedule): number {
  if (schedule.kind === "rate") return schedule.value * MINUTES_PER_UNIT[schedule.unit];
  const times: number[] = [];
  for (const hour of schedule.hours) for (const minute of schedule.minutes) times.push(hour * 60 + minute);
  times.sort((a, b) => a - b);
  let withinDay = Number.POSITIVE_INFINITY;
  for (let i = 1; i < times.length; i++) {
    withinDay = Math.min(withinDay, (times[i] as number) - (times[i - 1] as number));
  }
  const first = times[0] ?? 0;
  const last = times[times.length - 1] ?? 0;
  const acrossDays = (minDayGap(schedule) - 1) * 1440 + (1440 - last + first);
  return Math.min(withinDay, acrossDays);
}
