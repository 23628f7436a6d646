// The interface of this host's default route (IPv4, else IPv6): what the all-in-one captures on when no
// flow probe is configured.
import { execFileSync } from "node:child_process";

export function defaultRouteInterface(): string | undefined {
  for (const family of ["-4", "-6"]) {
    try {
      const routes = JSON.parse(execFileSync("ip", ["-j", family, "route", "show", "default"], { encoding: "utf8" })) as { dev?: string }[];
      const dev = routes.find((r) => r.dev)?.dev;
      if (dev) return dev;
    } catch {
      /* no ip command or no route of that family */
    }
  }
  return undefined;
}
