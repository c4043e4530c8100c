/**
 * A stand-in for the Lambda API on loopback — just GetFunction and Invoke (RequestResponse), the two calls
 * the deploy smoke test makes (src/pipeline/smoke-test.ts) — that runs a *real* handler module: each
 * invocation is a fresh `node` process (tsx for TypeScript) that imports the module with the function's
 * environment and calls its handler, as Lambda starts a container. An error at import (a module that
 * crashes on load, a missing setting) or in the handler comes back as Lambda reports it: status 200,
 * `X-Amz-Function-Error: Unhandled`, `{errorType, errorMessage}`.
 *
 * Point the AWS SDK at it with `AWS_ENDPOINT_URL_LAMBDA` (stub.env). What this proves is what the SDK
 * client sends and how the pipeline reads the answers; Lambda itself (IAM, concurrency, timeouts) is not
 * in the picture.
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const REPO = resolve(import.meta.dirname, "../..");

export interface StubFunction {
  /** Absolute path of the module exporting `handler` (TypeScript or JavaScript). */
  module: string;
  /** The function's environment variables (what Terraform would configure). */
  env: Record<string, string>;
}

export interface LambdaStub {
  url: string;
  /** AWS_ENDPOINT_URL_LAMBDA and dummy credentials for the SDK. */
  env: Record<string, string>;
  invocations: Array<{ name: string; payload: unknown }>;
  close(): Promise<void>;
}

/**
 * `functions(name)` says which module and environment a function name runs (asked at every request, so
 * the environment can follow what was deployed); undefined = no such function.
 */
export async function startLambdaStub(
  functions: (name: string) => StubFunction | undefined | Promise<StubFunction | undefined>,
): Promise<LambdaStub> {
  const invocations: LambdaStub["invocations"] = [];
  const server: Server = createServer((req, res) => {
    void handle(req).then(
      ({ status, headers, body }) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(body);
      },
      (error: unknown) => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: String(error) }));
      },
    );
  });

  async function handle(
    req: IncomingMessage,
  ): Promise<{ status: number; headers?: Record<string, string>; body: string }> {
    const body = await readBody(req);
    const match = /^\/2015-03-31\/functions\/([^/]+)(\/invocations|\/configuration)?/.exec(req.url ?? "");
    const name = decodeURIComponent(match?.[1] ?? "");
    const fn = await functions(name);
    if (!match || !fn) {
      return {
        status: 404,
        headers: { "x-amzn-errortype": "ResourceNotFoundException" },
        body: JSON.stringify({ Type: "User", message: `Function not found: ${name}` }),
      };
    }
    if (match[2] !== "/invocations") {
      const configuration = { FunctionName: name, State: "Active", LastUpdateStatus: "Successful" };
      return {
        status: 200,
        body: JSON.stringify(match[2] ? configuration : { Configuration: configuration }),
      };
    }
    const payload = body === "" ? {} : (JSON.parse(body) as unknown);
    invocations.push({ name, payload });
    const outcome = await invoke(fn, name, payload);
    return "error" in outcome
      ? { status: 200, headers: { "x-amz-function-error": "Unhandled" }, body: JSON.stringify(outcome.error) }
      : {
          status: 200,
          headers: { "x-amz-executed-version": "$LATEST" },
          body: JSON.stringify(outcome.result),
        };
  }

  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    env: {
      AWS_ENDPOINT_URL_LAMBDA: url,
      AWS_ACCESS_KEY_ID: "stub",
      AWS_SECRET_ACCESS_KEY: "stub",
      AWS_REGION: "us-east-1",
    },
    invocations,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

type Outcome = { result: unknown } | { error: { errorType: string; errorMessage: string } };

/** One cold start: a new node process imports the module and runs the handler once. */
function invoke(fn: StubFunction, name: string, payload: unknown): Promise<Outcome> {
  const script = `
    const report = (value) => process.stdout.write("\\nOUTCOME " + JSON.stringify(value) + "\\n");
    let handler;
    try {
      ({ handler } = await import(${JSON.stringify(pathToFileURL(fn.module).href)}));
    } catch (e) {
      report({ error: { errorType: "Runtime.ImportModuleError", errorMessage: String(e?.message ?? e) } });
      process.exit(0);
    }
    const context = {
      functionName: ${JSON.stringify(name)}, awsRequestId: "stub-" + process.pid,
      getRemainingTimeInMillis: () => 600000,
    };
    try {
      report({ result: await handler(${JSON.stringify(payload)}, context) });
    } catch (e) {
      report({ error: { errorType: e?.name ?? "Error", errorMessage: String(e?.message ?? e) } });
    }`;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...fn.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", fail);
    child.on("close", (code) => {
      const line = stdout.split("\n").find((text) => text.startsWith("OUTCOME "));
      if (line) done(JSON.parse(line.slice("OUTCOME ".length)) as Outcome);
      else
        done({
          error: { errorType: "Runtime.ExitError", errorMessage: `exit ${code}: ${stderr.slice(-500)}` },
        });
    });
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => done(Buffer.concat(chunks).toString("utf8")));
    req.on("error", fail);
  });
}
