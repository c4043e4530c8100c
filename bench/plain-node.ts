/**
 * A reference point for the throughput benchmark, not product code: the least a Node process can do for
 * the same job — N concurrent `http.get`s (the registry's redirect followed by hand, as the engine does)
 * each piped into `fs.createWriteStream` with a 1 MiB buffer. No sha256, no fsync, no temp file and
 * rename, no retries: the gap between this row and curl is Node's own cost on the machine; the gap
 * between hbsync and this row is ours.
 *   node bench/plain-node.ts <curl-list> <out-dir> <concurrency>   (run by bench/throughput.ts)
 */
import { createWriteStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { get } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";

const [listPath = "", outDir = "", concurrency = "4"] = process.argv.slice(2);
const lines = (await readFile(listPath, "utf8")).split("\n").filter((line) => line.trim() !== "");
const jobs: Array<{ url: string; file: string }> = [];
for (let i = 0; i + 1 < lines.length; i += 2) {
  const url = /"(.*)"/.exec(lines[i] ?? "")?.[1] ?? "";
  const output = /"(.*)"/.exec(lines[i + 1] ?? "")?.[1] ?? "";
  jobs.push({ url, file: join(outDir, output.slice(output.lastIndexOf("/") + 1)) });
}
await mkdir(outDir, { recursive: true });

function download(url: string, file: string, authorization: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = authorization ? { authorization: "Bearer QQ==" } : {};
    get(url, { headers }, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        download(new URL(response.headers.location, url).href, file, false).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        response.resume();
        reject(new Error(`HTTP ${status} from ${url}`));
        return;
      }
      pipeline(response, createWriteStream(file, { highWaterMark: 1024 * 1024 })).then(resolve, reject);
    }).on("error", reject);
  });
}

let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (job) await download(job.url, job.file, true);
    }
  }),
);
