// skystream client …: the query API from the command line (Skydive's `skydive client`). Tables for
// people, --output json for scripts; the server's error message when a request is refused.
import { writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { Command, Option } from "commander";
import { SkystreamError } from "@skystream/common";
import { readConfig, type GlobalOptions } from "../runtime.js";

interface ClientOptions {
  api?: string;
  token?: string;
  output: "table" | "json";
}

/** The API's base URL: --api, SKYSTREAM_API_URL, or the configured listen address. */
function baseUrl(globals: GlobalOptions, o: ClientOptions): string {
  const explicit = o.api ?? process.env.SKYSTREAM_API_URL;
  if (explicit) return explicit.replace(/\/$/, "");
  const listen = readConfig(globals).api.listen;
  return `http://${listen.startsWith(":") ? `127.0.0.1${listen}` : listen}`;
}

/** The token from --token or SKYSTREAM_API_TOKEN (what `client login` prints). */
let token: string | undefined;

async function call(url: string, init: RequestInit & { accept?: string } = {}): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(url, {
      ...init,
      headers: {
        accept: init.accept ?? "application/json",
        ...(init.body ? { "content-type": "application/json" } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...init.headers,
      },
    });
  } catch (err) {
    throw new SkystreamError("SKY_ERR_CLIENT_CONNECT", `cannot reach the API at ${url}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  if (!r.ok) {
    const text = await r.text();
    let message = text;
    try {
      const j = JSON.parse(text) as { error?: string };
      if (j.error) message = j.error;
    } catch {
      /* not JSON: the text as it is */
    }
    throw new SkystreamError("SKY_ERR_CLIENT_REQUEST", `${r.status} ${r.statusText}: ${message}`);
  }
  return r;
}

/** Rows as aligned columns. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join("\n") + "\n";
}

/** --metadata key=value (repeatable, or comma-separated): values that read as JSON (9000, true) are kept as such. */
function collectMetadata(text: string, into: Record<string, unknown>): Record<string, unknown> {
  for (const pair of text.split(",")) {
    const i = pair.indexOf("=");
    if (i <= 0) throw new SkystreamError("SKY_ERR_CLIENT_ARGS", `--metadata: expected key=value, got "${pair}"`);
    const raw = pair.slice(i + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    into[pair.slice(0, i)] = value;
  }
  return into;
}

const print = (o: ClientOptions, value: unknown, rows: () => string) =>
  process.stdout.write(o.output === "json" ? `${JSON.stringify(value, null, 2)}\n` : rows());

export function clientCommand(globals: () => GlobalOptions): Command {
  const cmd = new Command("client")
    .description("command-line client of the query API (Gremlin, captures, alerts, nodes, edges and rules, flow matrix, status)")
    .option("--api <url>", "API base URL (default: SKYSTREAM_API_URL, else http://<api.listen>)")
    .option("--token <token>", "token from `skystream client login` (default: SKYSTREAM_API_TOKEN)")
    .addOption(new Option("-o, --output <format>", "table for people, json for scripts").choices(["table", "json"]).default("table"));
  const opts = () => cmd.opts<ClientOptions>();
  const url = (path: string) => {
    token = opts().token ?? process.env.SKYSTREAM_API_TOKEN;
    return `${baseUrl(globals(), opts())}${path}`;
  };

  cmd
    .command("login")
    .description("log in; prints the token (export SKYSTREAM_API_TOKEN=…)")
    .requiredOption("-u, --username <user>", "user")
    .option("-p, --password <password>", "password (default: SKYSTREAM_API_PASSWORD)")
    .action(async (o: { username: string; password?: string }) => {
      const r = await call(url("/login"), {
        method: "POST",
        body: JSON.stringify({ username: o.username, password: o.password ?? process.env.SKYSTREAM_API_PASSWORD ?? "" }),
      });
      const { Token } = (await r.json()) as { Token: string };
      process.stdout.write(`${Token}\n`);
    });

  const topology = cmd.command("topology").description("the graph");
  topology
    .command("query")
    .description("run a Gremlin query")
    .requiredOption("--gremlin <query>", "e.g. \"G.V().Has('Type', 'netns')\"")
    .addOption(new Option("--format <format>", "json, or dot for Graphviz").choices(["json", "dot"]).default("json"))
    .action(async (o: { gremlin: string; format: string }) => {
      const r = await call(url("/api/topology"), {
        method: "POST",
        body: JSON.stringify({ GremlinQuery: o.gremlin }),
        accept: o.format === "dot" ? "text/vnd.graphviz" : "application/json",
      });
      if (o.format === "dot") return void process.stdout.write(await r.text());
      const result = r.status === 204 ? [] : ((await r.json()) as unknown[]);
      const nodes = result.every((x) => x && typeof x === "object" && "ID" in (x as object) && "Metadata" in (x as object));
      print(opts(), result, () =>
        nodes && result.length > 0
          ? table(
              (result as { ID: string; Host: string; Metadata: Record<string, unknown> }[]).map((n) => ({
                id: n.ID,
                type: n.Metadata.Type ?? n.Metadata.RelationType,
                name: n.Metadata.Name,
                host: n.Host,
                state: n.Metadata.State,
              })),
              ["id", "type", "name", "host", "state"],
            )
          : `${JSON.stringify(result, null, 2)}\n`,
      );
    });

  /** create/list/delete of one API resource (capture, alert, node, edge, noderule, edgerule). */
  const resource = (
    kind: string,
    description: string,
    create: (c: Command) => Command,
    body: (o: Record<string, unknown>, metadata: Record<string, unknown>) => Record<string, unknown>,
    columns: string[],
    opts2: { metadata?: boolean; deleteDescription?: string } = {},
  ) => {
    const group = cmd.command(kind).description(description);
    const row = (r: Record<string, unknown>) => ({ ...r, ...(r.Metadata as object), ID: r.ID ?? r.UUID });
    const creating = create(group.command("create").description(`create a ${kind}`));
    if (opts2.metadata !== false)
      creating.option("-m, --metadata <key=value...>", "metadata, key=value (values read as JSON when they are: 9000, true)", collectMetadata, {});
    creating.option("--ttl <duration>", "delete it by itself after this long (e.g. 10m)").action(async (o: Record<string, unknown>) => {
      const r = await call(url(`/api/${kind}`), {
        method: "POST",
        body: JSON.stringify(body(o, (o.metadata ?? {}) as Record<string, unknown>)),
        headers: o.ttl ? { "x-resource-ttl": String(o.ttl) } : {},
      });
      const created = (await r.json()) as Record<string, unknown>;
      print(opts(), created, () => table([row(created)], columns));
    });
    group
      .command("list")
      .description(`${kind}s in force`)
      .action(async () => {
        const all = (await (await call(url(`/api/${kind}`))).json()) as Record<string, Record<string, unknown>>;
        print(opts(), all, () => table(Object.values(all).map(row), columns));
      });
    group
      .command("delete <id>")
      .description(opts2.deleteDescription ?? `delete a ${kind} and what it made`)
      .action(async (id: string) => {
        const r = await call(url(`/api/${kind}/${encodeURIComponent(id)}`), { method: "DELETE", accept: "text/plain" });
        process.stdout.write(`${await r.text()}\n`);
      });
    return group;
  };
  resource(
    "capture",
    "captures on demand",
    (c) =>
      c
        .requiredOption("-p, --gremlin <query>", "nodes to capture on, e.g. \"G.V().Has('Type', 'veth', 'Name', 'eth0')\"")
        .option("--bpf <filter>", "BPF filter", "")
        .option("--name <name>", "name", "")
        .option("--description <text>", "description", "")
        .addOption(new Option("--type <type>", "capture type").choices(["pcap", "afpacket", "sflow", "ovssflow"])),
    (o) => ({ GremlinQuery: o.gremlin, BPFFilter: o.bpf, Name: o.name, Description: o.description, Type: o.type ?? "" }),
    ["UUID", "Name", "GremlinQuery", "BPFFilter", "Type", "Count"],
    { metadata: false, deleteDescription: "stop a capture everywhere" },
  );
  const alert = resource(
    "alert",
    "alerts: a Gremlin expression that fires when its result changes",
    (c) =>
      c
        .requiredOption("--expression <gremlin>", "fires when not empty and changed, e.g. \"G.V().Has('State', 'DOWN')\"")
        .option("--name <name>", "name", "")
        .option("--description <text>", "description", "")
        .option("--trigger <trigger>", "graph (on topology changes) or duration:<go duration>", "graph")
        .option("--action <url>", "http(s) URL the firing is POSTed to; empty: WebSocket subscribers only", ""),
    (o) => ({ Expression: o.expression, Name: o.name, Description: o.description, Trigger: o.trigger, Action: o.action }),
    ["UUID", "Name", "Expression", "Trigger", "Action"],
    { metadata: false, deleteDescription: "delete an alert" },
  );
  alert
    .command("firings <uuid>")
    .description("when an alert fired, and why (latest first)")
    .action(async (uuid: string) => {
      const all = (await (await call(url(`/api/alert/${encodeURIComponent(uuid)}/firings`))).json()) as Record<string, unknown>[];
      print(opts(), all, () =>
        table(
          all.map((f) => ({ ...f, Time: new Date(Number(f.Time)).toISOString() })),
          ["Time", "ActionStatus", "ReasonData"],
        ),
      );
    });
  resource(
    "node",
    "nodes added to the topology (a switch, a router, the internet…)",
    (c) => c.requiredOption("--name <name>", "its Name").requiredOption("--type <type>", "its Type").option("--id <id>", "its ID (default: a new UUID)"),
    (o, md) => ({ ...(o.id ? { ID: o.id } : {}), Metadata: { ...md, Name: o.name, Type: o.type } }),
    ["ID", "Type", "Name", "Origin"],
  );
  resource(
    "edge",
    "edges added to the topology",
    (c) =>
      c
        .requiredOption("--parent <id>", "the parent node's ID")
        .requiredOption("--child <id>", "the child node's ID")
        .requiredOption("--relation-type <type>", "ownership, layer2, …")
        .option("--id <id>", "its ID (default: a new UUID)"),
    (o, md) => ({ ...(o.id ? { ID: o.id } : {}), Parent: o.parent, Child: o.child, Metadata: { ...md, RelationType: o.relationType } }),
    ["ID", "Parent", "Child", "RelationType"],
  );
  resource(
    "noderule",
    "node rules: create a node, or add metadata to the nodes a query matches",
    (c) =>
      c
        .addOption(new Option("--action <action>", "create a node, or update the matching ones").choices(["create", "update"]).default("create"))
        .option("--query <gremlin>", "update: the nodes, e.g. \"G.V().Has('Type', 'device')\"")
        .option("--node-name <name>", "create: the node's Name")
        .option("--node-type <type>", "create: the node's Type")
        .option("--name <name>", "the rule's name", "")
        .option("--description <text>", "description", ""),
    (o, md) => ({
      Name: o.name,
      Description: o.description,
      Action: o.action,
      ...(o.query ? { Query: o.query } : {}),
      Metadata: { ...md, ...(o.nodeName ? { Name: o.nodeName } : {}), ...(o.nodeType ? { Type: o.nodeType } : {}) },
    }),
    ["ID", "Name", "Action", "Query"],
  );
  resource(
    "edgerule",
    "edge rules: an edge from every node a query matches to every node another matches",
    (c) =>
      c
        .requiredOption("--src <gremlin>", "the parent nodes")
        .requiredOption("--dst <gremlin>", "the child nodes")
        .requiredOption("--relation-type <type>", "the edges' RelationType")
        .option("--name <name>", "the rule's name", "")
        .option("--description <text>", "description", ""),
    (o, md) => ({ Name: o.name, Description: o.description, Src: o.src, Dst: o.dst, Metadata: { ...md, RelationType: o.relationType } }),
    ["ID", "Name", "Src", "Dst", "RelationType"],
  );

  cmd
    .command("flowmatrix")
    .description("who talks to whom")
    .option("--from <time>", "start: ms, s, -1h, or a date (default: 1 h before --to)")
    .option("--to <time>", "end (default: now)")
    .option("--namespace <ns>", "either end in this namespace")
    .option("--host <host>", "either end on this host")
    .option("--process <name>", "either end's process")
    .addOption(new Option("--source <source>", "captured flows, or the sockets seen at --to").choices(["flows", "sockets"]).default("flows"))
    .addOption(new Option("--format <format>", "output").choices(["table", "json", "csv", "dot", "png"]).default("table"))
    .option("--file <path>", "png: where to write the image", "flowmatrix.png")
    .action(async (o: { from?: string; to?: string; namespace?: string; host?: string; process?: string; source: string; format: string; file: string }) => {
      const qs = new URLSearchParams({ source: o.source });
      for (const k of ["from", "to", "namespace", "host", "process"] as const) if (o[k] !== undefined) qs.set(k, o[k]!);
      const wire = o.format === "png" ? "dot" : o.format === "table" ? "json" : o.format;
      qs.set("format", wire);
      const r = await call(url(`/api/flowmatrix?${qs}`), { accept: wire === "json" ? "application/json" : wire === "csv" ? "text/csv" : "text/vnd.graphviz" });
      if (o.format === "csv" || o.format === "dot") return void process.stdout.write(await r.text());
      if (o.format === "png") {
        const dot = spawnSync("dot", ["-Tpng"], { input: await r.text(), maxBuffer: 64 << 20 });
        if (dot.error || dot.status !== 0)
          throw new SkystreamError(
            "SKY_ERR_CLIENT_GRAPHVIZ",
            `rendering needs Graphviz's dot (apt install graphviz): ${dot.error?.message ?? dot.stderr.toString()}`,
          );
        writeFileSync(o.file, dot.stdout);
        return void process.stdout.write(`${o.file}\n`);
      }
      const rows = (await r.json()) as Record<string, unknown>[];
      print(opts(), rows, () =>
        table(
          rows.map((x) => ({
            ...x,
            server: `${x.Server}/${x.ServerProcName || "?"}`,
            client: `${x.Client}/${x.ClientProcName || "?"}`,
            bytes: Number(x.ClientToServerBytes) + Number(x.ServerToClientBytes),
          })),
          ["Protocol", "server", "ServerIP", "Port", "client", "ClientIP", "bytes", "Flows"],
        ),
      );
    });

  cmd
    .command("status")
    .description("agents seen, graph in memory, pipeline lag")
    .action(async () => {
      const s = (await (await call(url("/api/status"))).json()) as {
        Agents: Record<string, unknown>[];
        Graph: { Nodes: number; Edges: number };
        Pipeline: { Lag: Record<string, unknown> };
      };
      print(
        opts(),
        s,
        () =>
          table(
            s.Agents.map((a) => ({ ...a, LastSeen: new Date(Number(a.LastSeen)).toISOString() })),
            ["Host", "Origin", "Alive", "LastSeen"],
          ) + `graph: ${s.Graph.Nodes} nodes, ${s.Graph.Edges} edges; pipeline lag: ${JSON.stringify(s.Pipeline.Lag)}\n`,
      );
    });
  return cmd;
}
