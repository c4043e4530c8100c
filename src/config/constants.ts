/**
 * Facts about AWS and Homebrew that config validation checks against. Each list says where it comes
 * from; update it from that source, not from memory.
 */

/**
 * Commercial AWS regions (the `aws` partition), as listed by the AWS SDK for JavaScript v3 endpoint
 * rules (`@aws-sdk/core` 3.x, `util-endpoints/lib/aws/partitions.js`, partition `aws`). China, GovCloud
 * and ISO partitions are deliberately absent: this project deploys to the commercial partition only.
 */
export const AWS_REGIONS: readonly string[] = [
  "af-south-1",
  "ap-east-1",
  "ap-east-2",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-south-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-6",
  "ap-southeast-7",
  "ca-central-1",
  "ca-west-1",
  "eu-central-1",
  "eu-central-2",
  "eu-north-1",
  "eu-south-1",
  "eu-south-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "il-central-1",
  "me-central-1",
  "me-south-1",
  "me-west-1",
  "mx-central-1",
  "sa-east-1",
  "sa-west-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
];

/**
 * Bottle tags Homebrew publishes under `bottle.stable.files` (brew's MacOSVersion symbols, `arm64_`
 * variants from Big Sur on, the two Linux tags, and `all` for platform-independent bottles). The older
 * macOS tags still appear in the index for some formulae (see tests/fixtures/homebrew).
 */
export const BOTTLE_TAGS: readonly string[] = [
  "arm64_tahoe",
  "tahoe",
  "arm64_sequoia",
  "sequoia",
  "arm64_sonoma",
  "sonoma",
  "arm64_ventura",
  "ventura",
  "arm64_monterey",
  "monterey",
  "arm64_big_sur",
  "big_sur",
  "catalina",
  "mojave",
  "high_sierra",
  "sierra",
  "el_capitan",
  "yosemite",
  "x86_64_linux",
  "arm64_linux",
  "all",
];

/** Fargate task CPU units AWS accepts (1024 = 1 vCPU). */
export const FARGATE_CPUS = [256, 512, 1024, 2048, 4096, 8192, 16384] as const;

function steps(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += step) values.push(value);
  return values;
}

/**
 * Task memory (MiB) Fargate accepts for each task CPU value, from the Amazon ECS developer guide
 * "Task CPU and memory" table (docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html;
 * 8192 and 16384 CPU need Linux platform 1.4.0+).
 */
export const FARGATE_MEMORY_BY_CPU: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: steps(1024, 4096, 1024),
  1024: steps(2048, 8192, 1024),
  2048: steps(4096, 16384, 1024),
  4096: steps(8192, 30720, 1024),
  8192: steps(16384, 61440, 4096),
  16384: steps(32768, 122880, 8192),
};

/** Fargate ephemeral storage bounds in GiB (ECS API `EphemeralStorage.sizeInGiB`). */
export const FARGATE_EPHEMERAL_MIN_GIB = 21;
export const FARGATE_EPHEMERAL_MAX_GIB = 200;

/** Lambda memory bounds in MB (128 MB to 10,240 MB). */
export const LAMBDA_MEMORY_MIN_MB = 128;
export const LAMBDA_MEMORY_MAX_MB = 10240;
/** Lambda's maximum timeout: 15 minutes. */
export const LAMBDA_TIMEOUT_MAX_SECONDS = 900;

/** Environment names treated as production for the "dubious in prod" warnings. */
export const PRODUCTION_ENVIRONMENTS: readonly string[] = ["prod", "production"];

/** A config.yaml is a few KB; refuse anything absurdly large before parsing it. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Structure limits, checked in linear passes before the schema sees anything (src/config/structure.ts).
 * The example config.yaml has about 80 keys and nests 6 levels; these leave room for many environments
 * while keeping validation fast and the YAML library's recursion far from the stack limit.
 */
export const MAX_CONFIG_KEYS = 2000;
export const MAX_CONFIG_DEPTH = 32;
/** A line indented (plus `- `/`? ` indicators) this far nests too deep for any config; refused before parsing. */
export const MAX_CONFIG_LINE_NESTING = 128;
