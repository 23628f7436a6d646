import { frame, writePcap, type TimedFrame } from "./agent/src/flow/testing/frames.ts";
const N = Number(process.argv[3] ?? 1_000_000), FLOWS = Number(process.argv[4] ?? 10_000);
const templates: Buffer[] = [];
for (let i = 0; i < FLOWS; i++) templates.push(frame({ src: `198.18.${(i >> 8) & 255}.${i & 255}`, dst: "198.19.0.1", proto: i % 3 === 0 ? "udp" : "tcp", srcPort: 1024 + (i % 60000), dstPort: 443, payload: 64, flags: 0x18 }));
function* gen(): Generator<TimedFrame> { const t0 = 1.7e12; for (let i = 0; i < N; i++) yield { time: t0 + i * 0.01, data: templates[i % FLOWS]! }; }
writePcap(process.argv[2]!, gen());
