// Where the sFlow collector's datagrams come from: the native batched receiver (agent/native/sflow-recv,
// recvmmsg, many datagrams per pipe read) when it is built, else Node's UDP socket (one event per datagram,
// several microseconds each: fine for a few exporters, not for line rate).
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const HELPER = fileURLToPath(new URL("../../../../native/bin/sflow-recv", import.meta.url));

export interface DatagramReceiver {
  /** host:port actually bound. */
  readonly address: string;
  /** The socket's receive buffer as the kernel set it. */
  readonly receiveBuffer: number;
  readonly kind: "recvmmsg" | "dgram";
  close(): Promise<void>;
}

export async function receiveDatagrams(
  host: string,
  port: number,
  receiveBuffer: number,
  onDatagram: (d: Buffer) => void,
  onError: (err: Error) => void,
  kind: "recvmmsg" | "dgram" = existsSync(HELPER) ? "recvmmsg" : "dgram",
): Promise<DatagramReceiver> {
  return kind === "recvmmsg" ? helperReceiver(host, port, receiveBuffer, onDatagram, onError) : socketReceiver(host, port, receiveBuffer, onDatagram, onError);
}

const bracket = (host: string) => (host.includes(":") ? `[${host}]` : host);

async function helperReceiver(
  host: string,
  port: number,
  receiveBuffer: number,
  onDatagram: (d: Buffer) => void,
  onError: (err: Error) => void,
): Promise<DatagramReceiver> {
  const child: ChildProcess = spawn(HELPER, [host, String(port), String(receiveBuffer)], { stdio: ["ignore", "pipe", "pipe"] });
  let pending: Buffer = Buffer.alloc(0);
  child.stdout!.on("data", (chunk: Buffer) => {
    let b = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let o = 0;
    while (o + 4 <= b.length) {
      const len = b.readUInt32LE(o);
      if (o + 4 + len > b.length) break;
      onDatagram(b.subarray(o + 4, o + 4 + len));
      o += 4 + len;
    }
    b = b.subarray(o);
    pending = b.length > 0 ? Buffer.from(b) : Buffer.alloc(0);
  });
  const [boundPort, buffer] = await new Promise<[number, number]>((resolve, reject) => {
    let err = "";
    const lines = createInterface({ input: child.stderr! });
    lines.on("line", (line) => {
      const m = /^ready (\d+) (\d+)$/.exec(line);
      if (m) resolve([Number(m[1]), Number(m[2])]);
      else err = line;
    });
    child.once("error", (e) => reject(new Error(`sflow-recv: ${e.message}`)));
    child.once("exit", (code) => reject(new Error(err || `sflow-recv exited (${code}) before listening`)));
  });
  let closing = false;
  child.on("exit", (code, signal) => {
    if (!closing) onError(new Error(`sflow-recv stopped (${code ?? signal})`));
  });
  return {
    address: `${bracket(host)}:${boundPort}`,
    receiveBuffer: buffer,
    kind: "recvmmsg",
    async close() {
      closing = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("close", () => r()));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function socketReceiver(
  host: string,
  port: number,
  receiveBuffer: number,
  onDatagram: (d: Buffer) => void,
  onError: (err: Error) => void,
): Promise<DatagramReceiver> {
  const socket: Socket = createSocket({ type: host.includes(":") ? "udp6" : "udp4", recvBufferSize: receiveBuffer });
  socket.on("message", onDatagram);
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  socket.on("error", onError);
  const a = socket.address();
  return {
    address: `${bracket(a.address)}:${a.port}`,
    receiveBuffer: socket.getRecvBufferSize(),
    kind: "dgram",
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}
