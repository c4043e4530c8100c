import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/**
 * smtp-server on 127.0.0.1 (port 0) for tests: STARTTLS disabled (its bundled certificate has expired),
 * plain AUTH accepted over the unencrypted loopback connection for the configured user/password, and
 * every message collected, parsed enough to check From/To/Subject and the text and HTML parts.
 */
export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  raw: string;
}

export interface SmtpServerOptions {
  user?: string;
  pass?: string;
  /** Answer the first N messages with `421 try again later` (a transient failure). */
  rejectFirst?: number;
}

export interface TestSmtpServer {
  port: number;
  /** smtp://user:pass@127.0.0.1:<port> */
  url: string;
  pass: string;
  messages: ReceivedMail[];
  /** Authentication attempts, accepted or not. */
  logins: Array<{ username: string; accepted: boolean }>;
  close(): Promise<void>;
}

export const SMTP_TEST_PASSWORD = "Sm7pP4ssw0rd-very-secret";

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const user = options.user ?? "notify";
  const pass = options.pass ?? SMTP_TEST_PASSWORD;
  const messages: ReceivedMail[] = [];
  const logins: TestSmtpServer["logins"] = [];
  let dataCount = 0;
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authMethods: ["PLAIN", "LOGIN"],
    logger: false,
    onAuth(auth, _session, callback) {
      const accepted = auth.username === user && auth.password === pass;
      logins.push({ username: auth.username ?? "", accepted });
      if (accepted) callback(null, { user: auth.username });
      else callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        dataCount += 1;
        if (dataCount <= (options.rejectFirst ?? 0)) {
          const error = new Error("try again later") as Error & { responseCode: number };
          error.responseCode = 421;
          callback(error);
          return;
        }
        const raw = Buffer.concat(chunks).toString("utf8");
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
        messages.push({
          ...parseMessage(raw),
          from,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw,
        });
        callback();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.server.address() as AddressInfo).port));
  });
  return {
    port,
    url: `smtp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${port}`,
    pass,
    messages,
    logins,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface MimePart {
  headers: Map<string, string>;
  body: string;
}

/** A small MIME reader: headers (unfolded, encoded-words decoded), multipart split, QP/base64 bodies. */
export function parseMessage(raw: string): { subject: string; text: string; html: string } {
  const root = parsePart(raw);
  const parts = flatten(root);
  const partOfType = (type: string): MimePart | undefined =>
    parts.find((part) => (part.headers.get("content-type") ?? "text/plain").toLowerCase().startsWith(type));
  return {
    subject: decodeWords(root.headers.get("subject") ?? ""),
    text: decodeBody(partOfType("text/plain")),
    html: decodeBody(partOfType("text/html")),
  };
}

function parsePart(raw: string): MimePart {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split === -1 ? raw : raw.slice(0, split);
  const body = split === -1 ? "" : raw.slice(split).replace(/^\r?\n\r?\n/, "");
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function flatten(part: MimePart): MimePart[] {
  const type = part.headers.get("content-type") ?? "";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.startsWith("multipart/") || !boundary) return [part];
  const pieces = part.body.split(`--${boundary}`).slice(1);
  return pieces
    .filter((piece) => !piece.startsWith("--"))
    .flatMap((piece) => flatten(parsePart(piece.replace(/^\r?\n/, ""))));
}

function decodeBody(part: MimePart | undefined): string {
  if (!part) return "";
  const encoding = (part.headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  const body = part.body.replace(/\r?\n$/, "");
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable") return decodeQuotedPrintable(body);
  return body.replace(/\r\n/g, "\n");
}

function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i += 1) {
    const char = joined[i] as string;
    const hex = joined.slice(i + 1, i + 3);
    if (char === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(char, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8").replace(/\r\n/g, "\n");
}

function decodeWords(header: string): string {
  return header
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_match, _charset: string, kind: string, data: string) =>
      kind.toUpperCase() === "B"
        ? Buffer.from(data, "base64").toString("utf8")
        : decodeQuotedPrintable(data.replaceAll("_", " ")),
    );
}
