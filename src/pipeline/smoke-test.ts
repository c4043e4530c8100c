/**
 * The deploy smoke test: after `terraform apply`, invoke the deployed worker Lambda with `{"dryRun": true}`
 * (src/runtime/dry-run.ts). A pass means the new bundle loads, reads its configuration, fetches and
 * verifies the Homebrew index, reads the mirror's state and plans — and that the function answering is
 * the version just deployed (its ARTIFACT_VERSION). The ledger records the verdict as `verified` or
 * `failed`; only verified versions are rollback targets.
 */
import type { LambdaClient } from "@aws-sdk/client-lambda";
import { errorMessage } from "../shared/errors.ts";

export interface SmokeTestContext {
  env: string;
  version: string;
  /** `terraform output -json` of the environment, flattened. */
  outputs: Record<string, unknown>;
}

export interface SmokeTestResult {
  passed: boolean;
  /** One line: what passed, or what failed and how. */
  detail: string;
}

export interface SmokeTest {
  readonly name: string;
  run(context: SmokeTestContext): Promise<SmokeTestResult>;
}

/** How long to wait for the function's update to finish before invoking it. */
const UPDATE_WAIT_SECONDS = 300;

/**
 * The worker dry run over the Lambda API (AWS_ENDPOINT_URL_LAMBDA points the SDK elsewhere, as the tests
 * do). `client` is created lazily from the environment's `aws_region` output when not given.
 */
export function workerDryRunSmokeTest(
  options: { client?: LambdaClient; waitSeconds?: number } = {},
): SmokeTest {
  return {
    name: "worker dry run",
    async run({ version, outputs }) {
      const functionName = outputs.worker_function_name;
      if (typeof functionName !== "string" || functionName === "") {
        return { passed: false, detail: "the environment has no worker_function_name output to invoke" };
      }
      const lambda = await import("@aws-sdk/client-lambda");
      const region = typeof outputs.aws_region === "string" ? outputs.aws_region : undefined;
      const client = options.client ?? new lambda.LambdaClient(region ? { region } : {});
      try {
        const pending = await waitForUpdate(
          client,
          lambda,
          functionName,
          options.waitSeconds ?? UPDATE_WAIT_SECONDS,
        );
        if (pending) return { passed: false, detail: `${functionName} ${pending}` };
        const response = await client.send(
          new lambda.InvokeCommand({
            FunctionName: functionName,
            InvocationType: "RequestResponse",
            Payload: Buffer.from(JSON.stringify({ dryRun: true })),
          }),
        );
        const text = response.Payload ? Buffer.from(response.Payload).toString("utf8") : "";
        if (response.FunctionError) {
          return {
            passed: false,
            detail: `${functionName} failed (${response.FunctionError}): ${functionErrorText(text)}`,
          };
        }
        return judge(functionName, version, text);
      } catch (error) {
        return { passed: false, detail: `could not invoke ${functionName}: ${errorMessage(error)}` };
      } finally {
        if (!options.client) client.destroy();
      }
    },
  };
}

/**
 * Polls GetFunctionConfiguration until the function's last update is done (terraform apply returns when
 * it accepted the update; Lambda may still be rolling it out). Returns why it is not ready, or undefined.
 * Errors (no credentials, no such function) are thrown at once, not waited out.
 */
async function waitForUpdate(
  client: LambdaClient,
  lambda: typeof import("@aws-sdk/client-lambda"),
  functionName: string,
  waitSeconds: number,
): Promise<string | undefined> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const config = await client.send(
      new lambda.GetFunctionConfigurationCommand({ FunctionName: functionName }),
    );
    if (config.LastUpdateStatus === "Failed")
      return `update failed: ${config.LastUpdateStatusReason ?? "no reason given"}`;
    if (config.State === "Failed") return `is in state Failed: ${config.StateReason ?? "no reason given"}`;
    if (config.LastUpdateStatus !== "InProgress" && config.State !== "Pending") return undefined;
    if (Date.now() > deadline) return `was still updating after ${waitSeconds} s`;
    await new Promise((done) => setTimeout(done, 2000));
  }
}

/** The verdict on a dry run's answer. Exported for tests. */
export function judge(functionName: string, version: string, payload: string): SmokeTestResult {
  let result: Record<string, unknown>;
  try {
    result = JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return {
      passed: false,
      detail: `${functionName} answered something that is not JSON: ${payload.slice(0, 200)}`,
    };
  }
  if (result?.status !== "dry-run") {
    return {
      passed: false,
      detail: `${functionName} did not do a dry run (status ${JSON.stringify(result?.status)}): the deployed worker predates it or ignored the event`,
    };
  }
  if (result.artifactVersion !== version) {
    return {
      passed: false,
      detail: `${functionName} runs ${JSON.stringify(result.artifactVersion)}, not the deployed ${version}`,
    };
  }
  return {
    passed: true,
    detail: `${functionName} (${version}): ${String(result.detail ?? "dry run passed")}`,
  };
}

/** Lambda's error payload `{errorType, errorMessage}` as one line. */
function functionErrorText(payload: string): string {
  try {
    const error = JSON.parse(payload) as { errorType?: string; errorMessage?: string };
    return [error.errorType, error.errorMessage].filter(Boolean).join(": ") || payload;
  } catch {
    return payload.slice(0, 300);
  }
}
