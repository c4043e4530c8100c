import { CostError } from "./errors.ts";

/**
 * AWS list prices (USD, on-demand, Linux) for the services a mirror deployment uses, per region.
 *
 * Every number carries the AWS pricing page it belongs to (`source`) and the date it was checked
 * (`asOf`). The build machine has no internet access, so the numbers were checked on 2026-11-27
 * against public copies and third-party transcriptions of those pages (see docs/cost.md); re-check
 * them on the AWS page before relying on an estimate for a purchase decision.
 *
 * Where a region's price was not checked separately, `assumedFrom` names the region whose price is
 * used. Free tiers are NOT applied: they are per account, shared with every other workload in it.
 */

export interface Price {
  usd: number;
  /** What one unit is: "GB-second", "request", "GB-month", … */
  unit: string;
  source: string;
  asOf: string;
  /** Set when this region's price is assumed equal to that region's. */
  assumedFrom?: string;
  note?: string;
}

export interface ArchPrices<T> {
  x86_64: T;
  arm64: T;
}

export interface RegionPrices {
  region: string;
  lambda: ArchPrices<{ gbSecond: Price; request: Price }>;
  fargate: ArchPrices<{ vcpuHour: Price; gbHour: Price }> & {
    /** Per GB-hour of ephemeral storage configured above the 20 GB every task gets. */
    ephemeralGbHour: Price;
  };
  s3: {
    standardGbMonth: Price;
    intelligentTieringInfrequentGbMonth: Price;
    intelligentTieringMonitoringObject: Price;
    putRequest: Price;
    getRequest: Price;
  };
  /** Data transfer out to the internet, first paid tier (up to 10 TB/month). */
  dataTransferOutGb: Price;
  cloudwatchLogs: { ingestionGb: Price; storageGbMonth: Price };
  /** Dashboards, standard-resolution alarms and custom metrics (what Container Insights publishes). */
  cloudwatch: { dashboardMonth: Price; alarmMonth: Price; metricMonth: Price };
  secretsManager: { secretMonth: Price; apiCall: Price };
  eventbridge: { scheduledInvocation: Price };
  nat: { hour: Price; gbProcessed: Price };
}

export interface PriceTable {
  currency: "USD";
  asOf: string;
  /** Fraction off the on-demand Fargate vCPU and memory price on FARGATE_SPOT: an assumption. */
  spotDiscount: { fraction: number; source: string; asOf: string; note: string };
  regions: Record<string, RegionPrices>;
}

export const PRICES_AS_OF = "2026-11-27";

const SOURCES = {
  lambda: "https://aws.amazon.com/lambda/pricing/",
  fargate: "https://aws.amazon.com/fargate/pricing/",
  s3: "https://aws.amazon.com/s3/pricing/",
  dataTransfer: "https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer",
  cloudwatch: "https://aws.amazon.com/cloudwatch/pricing/",
  eventbridge: "https://aws.amazon.com/eventbridge/pricing/",
  secretsManager: "https://aws.amazon.com/secrets-manager/pricing/",
  vpc: "https://aws.amazon.com/vpc/pricing/",
} as const;

function price(usd: number, unit: string, source: string, note?: string): Price {
  return note === undefined
    ? { usd, unit, source, asOf: PRICES_AS_OF }
    : { usd, unit, source, asOf: PRICES_AS_OF, note };
}

const US_EAST_1: RegionPrices = {
  region: "us-east-1",
  lambda: {
    x86_64: {
      gbSecond: price(0.0000166667, "GB-second", SOURCES.lambda, "first 6 billion GB-seconds/month tier"),
      request: price(0.0000002, "request", SOURCES.lambda, "$0.20 per 1M requests"),
    },
    arm64: {
      gbSecond: price(0.0000133334, "GB-second", SOURCES.lambda, "first 7.5 billion GB-seconds/month tier"),
      request: price(0.0000002, "request", SOURCES.lambda, "$0.20 per 1M requests"),
    },
  },
  fargate: {
    x86_64: {
      vcpuHour: price(0.04048, "vCPU-hour", SOURCES.fargate, "Linux/X86"),
      gbHour: price(0.004445, "GB-hour", SOURCES.fargate, "Linux/X86"),
    },
    arm64: {
      vcpuHour: price(0.03238, "vCPU-hour", SOURCES.fargate, "Linux/ARM"),
      gbHour: price(0.00356, "GB-hour", SOURCES.fargate, "Linux/ARM"),
    },
    ephemeralGbHour: price(0.000111, "GB-hour", SOURCES.fargate, "configured storage above 20 GB"),
  },
  s3: {
    standardGbMonth: price(0.023, "GB-month", SOURCES.s3, "S3 Standard, first 50 TB/month"),
    intelligentTieringInfrequentGbMonth: price(
      0.0125,
      "GB-month",
      SOURCES.s3,
      "S3 Intelligent-Tiering Infrequent Access tier (objects not accessed for 30 days)",
    ),
    intelligentTieringMonitoringObject: price(
      0.0000025,
      "object-month",
      SOURCES.s3,
      "$0.0025 per 1,000 objects monitored (objects ≥ 128 KB)",
    ),
    putRequest: price(0.000005, "request", SOURCES.s3, "PUT, COPY, POST, LIST: $0.005 per 1,000"),
    getRequest: price(0.0000004, "request", SOURCES.s3, "GET, SELECT and all other: $0.0004 per 1,000"),
  },
  dataTransferOutGb: price(0.09, "GB", SOURCES.dataTransfer, "to the internet, up to 10 TB/month"),
  cloudwatchLogs: {
    ingestionGb: price(0.5, "GB", SOURCES.cloudwatch, "Standard log class, collect (data ingestion)"),
    storageGbMonth: price(0.03, "GB-month", SOURCES.cloudwatch, "store (archival), compressed"),
  },
  cloudwatch: {
    dashboardMonth: price(3, "dashboard-month", SOURCES.cloudwatch, "$3.00 per dashboard per month"),
    alarmMonth: price(0.1, "alarm-month", SOURCES.cloudwatch, "standard resolution (60 s), per alarm metric"),
    metricMonth: price(
      0.3,
      "metric-month",
      SOURCES.cloudwatch,
      "custom metrics, first 10,000/month; prorated by the hours a metric is sent (Container Insights metrics are billed as custom metrics)",
    ),
  },
  secretsManager: {
    secretMonth: price(0.4, "secret-month", SOURCES.secretsManager, "$0.40 per secret per month, prorated"),
    apiCall: price(0.000005, "API call", SOURCES.secretsManager, "$0.05 per 10,000 API calls"),
  },
  eventbridge: {
    scheduledInvocation: price(
      0,
      "invocation",
      SOURCES.eventbridge,
      "scheduled rules on the default event bus are not charged; EventBridge Scheduler's first 14M invocations/month are free ($1.00 per 1M after)",
    ),
  },
  nat: {
    hour: price(0.045, "NAT gateway-hour", SOURCES.vpc),
    gbProcessed: price(0.045, "GB processed", SOURCES.vpc, "either direction, on top of data transfer"),
  },
};

/** Returns a copy of `prices` for `region`, marking every number as assumed from the source region. */
function assumedEqual(prices: RegionPrices, region: string): RegionPrices {
  const mark = (value: unknown): unknown => {
    if (value && typeof value === "object") {
      if ("usd" in value && "unit" in value) return { ...(value as Price), assumedFrom: prices.region };
      return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, mark(child)]));
    }
    return value;
  };
  return { ...(mark(prices) as RegionPrices), region };
}

export const PRICE_TABLE: PriceTable = {
  currency: "USD",
  asOf: PRICES_AS_OF,
  spotDiscount: {
    fraction: 0.7,
    source: SOURCES.fargate,
    asOf: PRICES_AS_OF,
    note: "AWS advertises Fargate Spot at 'up to a 70% discount'; the real Spot price moves with supply and demand (typically 50-70% off). Override with --assume spotDiscount=0.5.",
  },
  regions: {
    "us-east-1": US_EAST_1,
    // us-west-2 (Oregon) lists the same prices as us-east-1 for these services; not checked separately.
    "us-west-2": assumedEqual(US_EAST_1, "us-west-2"),
  },
};

/** The prices for a region, or a CostError naming the regions the table covers. */
export function pricesFor(region: string, table: PriceTable = PRICE_TABLE): RegionPrices {
  const prices = table.regions[region];
  if (!prices) {
    const known = Object.keys(table.regions).join(", ");
    throw new CostError(`no price table for region ${region} (the cost estimator knows ${known})`, {
      fix: `add ${region} to src/pipeline/cost/prices.ts with its prices from the AWS pricing pages, or estimate with a known region`,
    });
  }
  return prices;
}

/**
 * The prices for a region; for a region the table does not cover, us-east-1's prices marked as
 * assumed (every line then says so), with a note for the report.
 */
export function pricesForOrAssumed(
  region: string,
  table: PriceTable = PRICE_TABLE,
): { prices: RegionPrices; note?: string } {
  if (table.regions[region]) return { prices: pricesFor(region, table) };
  return {
    prices: assumedEqual(pricesFor("us-east-1", table), region),
    note: `${region} is not in the price table: us-east-1 prices are used, and most regions cost more (add it to src/pipeline/cost/prices.ts)`,
  };
}

/** Every price of a region, flattened with its path, for docs and JSON output. */
export function listPrices(prices: RegionPrices): Array<{ path: string } & Price> {
  const rows: Array<{ path: string } & Price> = [];
  const walk = (value: unknown, path: string[]): void => {
    if (!value || typeof value !== "object") return;
    if ("usd" in value && "unit" in value) {
      rows.push({ path: path.join("."), ...(value as Price) });
      return;
    }
    for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
  };
  const { region: _region, ...rest } = prices;
  walk(rest, []);
  return rows;
}
