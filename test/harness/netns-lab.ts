// Network namespace labs for tests: real namespaces, veth pairs and bridges made with iproute2.
// Addresses only in 198.18.0.0/15 and fd00::/8; nothing is routed out of the lab.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";

export function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export class NetnsLab {
  /** Short prefix: interface names must fit in 15 characters. */
  readonly p = `s${randomBytes(2).toString("hex")}`;
  private readonly namespaces: string[] = [];
  private readonly rootLinks: string[] = [];

  ns(name: string): string {
    const full = `${this.p}-${name}`;
    ip("netns", "add", full);
    ip("-n", full, "link", "set", "lo", "up");
    this.namespaces.push(full);
    return full;
  }

  /** A veth pair; each end moved into a namespace (or left in the root one with ns ""). */
  veth(a: string, nsA: string, b: string, nsB: string): [string, string] {
    const [na, nb] = [`${this.p}${a}`, `${this.p}${b}`];
    ip("link", "add", na, "type", "veth", "peer", "name", nb);
    if (nsA) ip("link", "set", na, "netns", nsA);
    else this.rootLinks.push(na);
    if (nsB) ip("link", "set", nb, "netns", nsB);
    else this.rootLinks.push(nb);
    for (const [n, ns] of [
      [na, nsA],
      [nb, nsB],
    ] as const)
      ip(...(ns ? ["-n", ns] : []), "link", "set", n, "up");
    return [na, nb];
  }

  /** Namespaces a and b joined by a veth pair va–vb, addressed `${net}.1/24` and `${net}.2/24` (net: "198.18.80"). */
  pair(net: string): { a: string; b: string; va: string; vb: string } {
    const [a, b] = [this.ns("a"), this.ns("b")];
    const [va, vb] = this.veth("va", a, "vb", b);
    ip("-n", a, "addr", "add", `${net}.1/24`, "dev", va);
    ip("-n", b, "addr", "add", `${net}.2/24`, "dev", vb);
    return { a, b, va, vb };
  }

  /** A Python program running in a namespace (killed by the caller). */
  python(ns: string, code: string): ChildProcess {
    return spawn("ip", ["netns", "exec", ns, "python3", "-c", code], { stdio: "ignore" });
  }

  /** A UDP server in a namespace: bound to addr:port (socketinfo sees it listen), reading what comes. */
  udpReceiver(ns: string, addr: string, port: number): ChildProcess {
    return this.python(ns, `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('${addr}',${port}))\nwhile True: s.recv(2048)`);
  }

  /** A UDP client in a namespace: a `size`-byte datagram to addr:port every 50 ms. */
  udpSender(ns: string, addr: string, port: number, size: number): ChildProcess {
    return this.python(
      ns,
      `import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nwhile True:\n  s.sendto(b'x'*${size},('${addr}',${port})); time.sleep(0.05)`,
    );
  }

  destroy(): void {
    for (const l of this.rootLinks) {
      try {
        ip("link", "del", l);
      } catch {
        /* gone with its peer */
      }
    }
    for (const ns of this.namespaces) {
      try {
        ip("netns", "del", ns);
      } catch {
        /* already deleted by the test */
      }
    }
  }
}
