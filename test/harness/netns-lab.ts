// Network namespace labs for tests: real namespaces, veth pairs and bridges made with iproute2.
// Addresses only in 198.18.0.0/15 and fd00::/8; nothing is routed out of the lab.
import { execFileSync } from "node:child_process";
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
