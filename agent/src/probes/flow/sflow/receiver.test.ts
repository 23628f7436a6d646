import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { receiveDatagrams } from "./receiver.js";

for (const kind of ["recvmmsg", "dgram"] as const) {
  test(`${kind} receiver: every datagram arrives whole and in order, on the port it reports`, async () => {
    const got: Buffer[] = [];
    const r = await receiveDatagrams(
      "127.0.0.1",
      0,
      1 << 20,
      (d) => got.push(Buffer.from(d)),
      (err) => assert.fail(err),
      kind,
    );
    assert.equal(r.kind, kind);
    const port = Number(r.address.split(":")[1]);
    const sender = createSocket("udp4");
    const sent = Array.from({ length: 500 }, (_, i) => Buffer.alloc(1 + ((i * 37) % 1400), i & 255));
    for (const d of sent) await new Promise<void>((res, rej) => sender.send(d, port, "127.0.0.1", (e) => (e ? rej(e) : res())));
    sender.close();
    for (let i = 0; i < 100 && got.length < sent.length; i++) await new Promise((res) => setTimeout(res, 20));
    await r.close();
    assert.equal(got.length, sent.length);
    assert.ok(got.every((d, i) => d.equals(sent[i]!)));
  });
}
