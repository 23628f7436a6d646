// Probe "docker": running containers from the Docker Engine API, each a "container" node owned by the
// network namespace it runs in (found through /proc/<pid>/ns/net), which is marked Manager: docker.
// Follows the engine's event stream, with a periodic full re-read.
import { readlink } from "node:fs/promises";
import { errorMessage } from "@skystream/common";
import { edgeId, uuidv5 } from "../../../graph/ids.js";
import { namespaceNodesByInode } from "../namespaces.js";
import type { EdgeSpec, NodeSpec } from "../../../graph/graph.js";
import type { TopologyProbe, TopologyProbeDeps } from "../types.js";
import type { DockerConfig } from "./config.js";
import { DockerEngine, type ContainerInspect, type ContainerSummary } from "./engine.js";

export class DockerProbe implements TopologyProbe {
  readonly id: string;
  private readonly engine: DockerEngine;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private stopEvents?: () => void;
  private running?: Promise<void>;
  private stopped = false;
  private dirty = false;
  private marked = new Set<string>();

  constructor(
    private readonly cfg: DockerConfig,
    private readonly deps: TopologyProbeDeps,
  ) {
    this.id = deps.id;
    this.engine = new DockerEngine(cfg.socket);
  }

  async start(): Promise<void> {
    try {
      await this.engine.get("/version");
    } catch (err) {
      throw new Error(`no container engine answers on ${this.cfg.socket}: ${errorMessage(err)}`);
    }
    await this.refresh();
    this.follow();
    this.timer = setInterval(() => this.schedule(0), this.cfg.interval);
  }

  private follow(): void {
    if (this.stopped) return;
    this.stopEvents = this.engine.events(
      () => this.schedule(50),
      () => {
        if (!this.stopped) setTimeout(() => this.follow(), 1000);
      },
    );
  }

  /** Asks for a re-read; events that arrive during one cause another, none is lost. */
  private schedule(ms: number): void {
    this.dirty = true;
    if (this.debounce || this.running) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.running = this.drain();
    }, ms);
  }

  private async drain(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      await this.refresh();
    }
    this.running = undefined;
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    try {
      const list = await this.engine.get<ContainerSummary[]>("/containers/json");
      const details = await Promise.all(list.map((c) => this.engine.get<ContainerInspect>(`/containers/${c.Id}/json`).catch(() => undefined)));
      const ns = await namespaceNodesByInode(this.deps.hostId, this.cfg.run_path);
      const nodes: NodeSpec[] = [];
      const edges: EdgeSpec[] = [];
      const marked = new Set<string>();
      for (const [i, c] of list.entries()) {
        const d = details[i];
        if (!d || !d.State.Running) continue;
        const id = uuidv5("container", this.deps.hostId, c.Id);
        const name = (c.Names[0] ?? d.Name).replace(/^\//, "");
        nodes.push({
          ID: id,
          Type: "container",
          Name: name,
          Metadata: {
            Manager: "docker",
            Container: {
              ID: c.Id,
              Name: name,
              Image: c.Image,
              ImageID: c.ImageID,
              Status: c.Status,
              State: c.State,
              InitProcessPID: d.State.Pid,
              Hostname: d.Config.Hostname ?? "",
              Labels: c.Labels ?? {},
              Runtime: d.HostConfig?.Runtime ?? "",
              NetworkMode: d.HostConfig?.NetworkMode ?? "",
            },
          },
        });
        const inode = /net:\[(\d+)\]/.exec(await readlink(`/proc/${d.State.Pid}/ns/net`).catch(() => ""))?.[1];
        const owner = inode ? ns.get(Number(inode)) : undefined;
        if (owner) {
          edges.push({ ID: edgeId(owner.id, id, "ownership"), Parent: owner.id, Child: id, RelationType: "ownership" });
          if (owner.named) marked.add(owner.id);
        }
      }
      this.deps.graph.sync(this.id, nodes, edges);
      for (const nid of this.marked) if (!marked.has(nid)) this.deps.graph.decorate(this.id, nid, undefined);
      for (const nid of marked) this.deps.graph.decorate(this.id, nid, { Manager: "docker" });
      this.marked = marked;
    } catch (err) {
      this.deps.log.warn({ probe: this.id, err: errorMessage(err) }, "container engine read failed");
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.stopEvents?.();
    await this.running;
  }
}
