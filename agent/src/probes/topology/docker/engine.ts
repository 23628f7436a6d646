// The Docker Engine API (also served by podman) over its unix socket: containers, inspect, events.
import { request } from "node:http";

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  State: string;
  Status: string;
  Labels: Record<string, string> | null;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  Config: { Image: string; Hostname?: string; Labels?: Record<string, string> | null };
  State: { Status: string; Pid: number; Running: boolean };
  HostConfig?: { NetworkMode?: string; Runtime?: string };
}

export class DockerEngine {
  constructor(private readonly socketPath: string) {}

  get<T>(path: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method: "GET", headers: { host: "docker" }, timeout: 10_000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => {
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`docker API ${path}: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
          else resolve(JSON.parse(body) as T);
        });
      });
      req.on("timeout", () => req.destroy(new Error(`docker API ${path}: timeout`)));
      req.on("error", reject);
      req.end();
    });
  }

  /** Streams container events; calls `onEvent` per event until the returned function is called. */
  events(onEvent: () => void, onEnd: (err?: Error) => void): () => void {
    // Unfiltered: podman ignores Docker's `filters` on this route, and any event only triggers a re-read.
    const req = request({ socketPath: this.socketPath, path: "/events", method: "GET", agent: false, headers: { host: "docker" } }, (res) => {
      res.on("data", () => onEvent());
      res.on("end", () => onEnd());
      res.on("error", (e) => onEnd(e));
    });
    req.on("error", (e) => onEnd(e));
    req.end();
    return () => req.destroy();
  }
}
