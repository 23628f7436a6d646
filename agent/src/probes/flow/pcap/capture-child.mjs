// Capture child: opens a live capture with libpcap (npm `cap`) in the network namespace it was started in
// (the agent starts it through nsenter) and writes the packets to stdout as a pcap stream, which the
// agent's flow table reads. Kept in its own process because Node cannot enter a namespace (no setns) and
// so that a native crash cannot take the agent down. Writes one JSON line to stderr when the capture is
// open ({"ready": linkType}) and every second when packets had to be dropped ({"dropped": n}).
// Usage: node capture-child.mjs '{"device":"eth0","filter":"","snaplen":256,"bufferSize":8388608}'
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Cap } = require("cap");

const LINKTYPES = { ETHERNET: 1, NULL: 0, RAW: 101, LINKTYPE_LINUX_SLL: 113, IEEE802_11_RADIO: 127 };
const opts = JSON.parse(process.argv[2] ?? "{}");
const snaplen = Math.max(14, Math.min(opts.snaplen ?? 256, 65535));
const cap = new Cap();
const frame = Buffer.alloc(65535);
let linkName;
try {
  linkName = cap.open(opts.device, opts.filter ?? "", opts.bufferSize ?? 8 << 20, frame);
} catch (err) {
  process.stderr.write(JSON.stringify({ error: `cannot capture on ${opts.device}: ${err.message}` }) + "\n");
  process.exit(2);
}
const linkType = LINKTYPES[linkName] ?? -1;
if (linkType < 0) {
  process.stderr.write(JSON.stringify({ error: `unsupported link type ${linkName} on ${opts.device}` }) + "\n");
  process.exit(2);
}

// Packet times: the wall clock at start plus a monotonic offset, in µs (cap does not hand pcap's timestamps over).
const wallStartUs = BigInt(Date.now()) * 1000n;
const monoStart = process.hrtime.bigint();

const header = Buffer.alloc(24);
header.writeUInt32LE(0xa1b2c3d4, 0);
header.writeUInt16LE(2, 4);
header.writeUInt16LE(4, 6);
header.writeUInt32LE(snaplen, 16);
header.writeUInt32LE(linkType, 20);
process.stdout.write(header);

const CHUNK = 1 << 20;
let out = Buffer.allocUnsafe(CHUNK);
let used = 0;
let congested = false;
let dropped = 0;
let flushScheduled = false;

function flush() {
  flushScheduled = false;
  if (used === 0) return;
  const data = out.subarray(0, used);
  out = Buffer.allocUnsafe(CHUNK);
  used = 0;
  if (!process.stdout.write(data)) congested = true;
}
process.stdout.on("drain", () => (congested = false));
process.stdout.on("error", () => process.exit(0)); // the agent went away
// Its stdin is a pipe from the agent and carries nothing: its end means the agent is gone (even killed
// with SIGKILL), so the capture stops instead of holding the namespace open with no reader.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();

cap.on("packet", (nbytes) => {
  // Backpressure from the agent cannot slow the wire: drop and count while its pipe is full.
  if (congested) {
    dropped++;
    return;
  }
  const caplen = Math.min(nbytes, snaplen);
  if (used + 16 + caplen > CHUNK) flush();
  const us = wallStartUs + (process.hrtime.bigint() - monoStart) / 1000n;
  out.writeUInt32LE(Number(us / 1000000n), used);
  out.writeUInt32LE(Number(us % 1000000n), used + 4);
  out.writeUInt32LE(caplen, used + 8);
  out.writeUInt32LE(nbytes, used + 12);
  frame.copy(out, used + 16, 0, caplen);
  used += 16 + caplen;
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
});

setInterval(() => {
  if (dropped > 0) {
    process.stderr.write(JSON.stringify({ dropped }) + "\n");
    dropped = 0;
  }
}, 1000);

const stop = () => {
  cap.close();
  flush();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop); // the agent closed our stdin: it is stopping or gone
process.stdin.resume();
process.stderr.write(JSON.stringify({ ready: linkType, link: linkName }) + "\n");
