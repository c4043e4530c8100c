import { createServer, type Server, type Socket } from "node:net";

/**
 * A TCP server on loopback that answers HTTP requests with exactly the bytes a test writes: the place
 * to make every failure a real server or network can produce (a reset, a close inside the last
 * chunk, a stall after the head, bad chunked framing) without an HTTP library smoothing it over.
 */
export interface RawRequest {
  socket: Socket;
  /** The request head as received. */
  head: string;
  path: string;
  /** Requests answered so far, counted from 0 across every connection. */
  index: number;
  /** The connection it came on, counted from 0. */
  connection: number;
}

export interface RawServer {
  url: string;
  /** Request heads in the order received. */
  requests: string[];
  /** The connection each request came on (same order). */
  connectionOf: number[];
  /** Connections accepted. */
  connections: number;
  close(): Promise<void>;
}

export async function startRawServer(
  respond: (request: RawRequest) => void | Promise<void>,
): Promise<RawServer> {
  const requests: string[] = [];
  const connectionOf: number[] = [];
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server: Server = createServer((socket) => {
    const connection = state.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let pending = "";
    socket.on("data", (data) => {
      pending += data.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const index = requests.length;
        requests.push(head);
        connectionOf.push(connection);
        const path = head.split(" ")[1] ?? "";
        void Promise.resolve(respond({ socket, head, path, index, connection })).catch(() =>
          socket.destroy(),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    connectionOf,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `data` and waits until it has left (so the next write arrives as a separate read). */
export function send(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.write(data, () => setTimeout(resolve, 5));
  });
}

export function contentLengthHead(length: number, extra = ""): string {
  return `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${length}\r\n${extra}\r\n`;
}

export function chunkedHead(extra = ""): string {
  return `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n${extra}\r\n`;
}

/** One chunk of a chunked body, framed. */
export function chunkFrame(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from("\r\n")]);
}

export const CHUNK = 16 * 1024;
/** Three distinct 16 KiB pieces: a test body, written as three separate writes. */
export const PIECES = [0, 1, 2].map((n) => Buffer.alloc(CHUNK, 0x41 + n));
export const BODY = Buffer.concat(PIECES);
/** Where in the body a failure lands. */
export const POSITIONS = [
  ["first", 0],
  ["middle", 1],
  ["last", 2],
] as const;

/**
 * Every way a response can break after its head, as a writer of BODY that fails at piece
 * `position`: each must end as a retryable error of that transfer (with a 200 ms idle timeout).
 */
export type FailureShape = (socket: Socket, position: number) => Promise<void>;

const before = async (socket: Socket, head: string, position: number) => {
  await send(socket, head);
  for (const piece of PIECES.slice(0, position)) await send(socket, piece);
};
const half = (position: number): Buffer => (PIECES[position] as Buffer).subarray(0, CHUNK / 2);
export const FAILURE_SHAPES: Array<[string, FailureShape]> = [
  [
    "a reset (RST) inside the piece",
    async (socket, position) => {
      await before(socket, contentLengthHead(BODY.length), position);
      await send(socket, half(position));
      socket.resetAndDestroy();
    },
  ],
  [
    "a close (FIN) inside the piece, short of Content-Length",
    async (socket, position) => {
      await before(socket, contentLengthHead(BODY.length), position);
      // Inside the last piece: everything but its last byte.
      await send(socket, (PIECES[position] as Buffer).subarray(0, position === 2 ? CHUNK - 1 : CHUNK / 2));
      socket.end();
    },
  ],
  [
    "a close inside a chunk of a chunked body",
    async (socket, position) => {
      await send(socket, chunkedHead());
      for (const piece of PIECES.slice(0, position)) await send(socket, chunkFrame(piece));
      await send(socket, chunkFrame(PIECES[position] as Buffer).subarray(0, CHUNK / 2));
      socket.end();
    },
  ],
  [
    "a chunked body that ends without its last (zero) chunk",
    async (socket, position) => {
      await send(socket, chunkedHead());
      for (const piece of PIECES.slice(0, position + 1)) await send(socket, chunkFrame(piece));
      socket.end();
    },
  ],
  [
    "bad chunked framing (a chunk size that is not hex)",
    async (socket, position) => {
      await send(socket, chunkedHead());
      for (const piece of PIECES.slice(0, position)) await send(socket, chunkFrame(piece));
      await send(socket, "zz\r\n");
      await send(socket, PIECES[position] as Buffer);
    },
  ],
  [
    "bad chunked framing (a chunk's data not followed by CRLF)",
    async (socket, position) => {
      await send(socket, chunkedHead());
      for (const piece of PIECES.slice(0, position)) await send(socket, chunkFrame(piece));
      await send(socket, `${CHUNK.toString(16)}\r\n`);
      await send(socket, Buffer.concat([PIECES[position] as Buffer, Buffer.from("XX")]));
    },
  ],
  [
    "the head, then a stall inside the piece",
    async (socket, position) => {
      await before(socket, contentLengthHead(BODY.length), position);
      await send(socket, half(position));
    },
  ],
  [
    "a slow drip whose pauses outlast the idle timeout",
    async (socket, position) => {
      await before(socket, contentLengthHead(BODY.length), position);
      for (let i = 0; i < 2 && !socket.destroyed; i++) {
        await send(socket, (PIECES[position] as Buffer).subarray(i, i + 1));
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
    },
  ],
];
