/**
 * A reference point for the S3 row of the throughput benchmark, not product code: a plain
 * @aws-sdk/client-s3 PutObject loop of the same bottles at the same concurrency — each blob fetched
 * from the registry (its redirect followed, as curl --location does) and streamed into one PutObject
 * with its Content-Length. No sha256 check, no manifests, no state, no API files: the least the SDK can
 * do for the job. Reads the curl list the bench wrote (url/output pairs; the output's name is the key).
 *   node bench/s3-put-loop.ts <curl-list> <bucket> <prefix> <concurrency>   (endpoint from AWS_ENDPOINT_URL_S3)
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { Readable } from "node:stream";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

const [listPath = "", bucket = "", prefix = "", concurrency = "4"] = process.argv.slice(2);
const lines = (await readFile(listPath, "utf8")).split("\n").filter((line) => line.trim() !== "");
const jobs: Array<{ url: string; key: string }> = [];
for (let i = 0; i + 1 < lines.length; i += 2) {
  const url = /"(.*)"/.exec(lines[i] ?? "")?.[1] ?? "";
  const output = /"(.*)"/.exec(lines[i + 1] ?? "")?.[1] ?? "";
  jobs.push({ url, key: `${prefix}/bottles/${basename(output)}.bottle.tar.gz` });
}
const client = new S3Client({
  endpoint: process.env.AWS_ENDPOINT_URL_S3,
  region: process.env.AWS_REGION ?? "us-east-1",
  forcePathStyle: true,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});
let next = 0;
async function worker(): Promise<void> {
  for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
    const response = await fetch(job.url, { headers: { authorization: "Bearer QQ==" } });
    if (!response.ok || response.body === null) throw new Error(`GET ${job.url}: ${response.status}`);
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: job.key,
        Body: Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
        ContentLength: Number(response.headers.get("content-length")),
      }),
    );
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
client.destroy();
