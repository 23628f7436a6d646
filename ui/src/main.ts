// Skystream's web UI: the topology (live, or at a time picked on the slider), search, Gremlin, a node's
// metadata and flows, captures, the flow matrix, alerts. Served by the query API; talks only to it.
import { GraphView, searchNodes } from "@skystream/views";
import { call, graphAt, gremlin, login, subscribe, whenUnauthorized } from "./api.js";

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const view = new GraphView($("#canvas"));
const status = $<HTMLOutputElement>("#status");
let at: number | undefined; // undefined: live

whenUnauthorized(
  () =>
    new Promise<void>((resolve) => {
      const dialog = $<HTMLDialogElement>("#login");
      const form = $<HTMLFormElement>("#login-form");
      form.onsubmit = async (e) => {
        e.preventDefault();
        const data = new FormData(form);
        try {
          await login(String(data.get("username")), String(data.get("password")));
          dialog.close();
          resolve();
        } catch (err) {
          $("#login-error").textContent = (err as Error).message;
        }
      };
      if (!dialog.open) dialog.showModal();
    }),
);

function text(s: unknown): string {
  return s === null || s === undefined ? "" : typeof s === "object" ? JSON.stringify(s) : String(s);
}

function table(el: HTMLTableElement, rows: Record<string, unknown>[], columns: string[], actions?: (row: Record<string, unknown>) => HTMLElement) {
  el.replaceChildren();
  const head = el.insertRow();
  for (const c of columns) head.appendChild(Object.assign(document.createElement("th"), { textContent: c }));
  for (const r of rows) {
    const tr = el.insertRow();
    for (const c of columns) tr.insertCell().textContent = text(c.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | null)?.[k], r));
    if (actions) tr.insertCell().appendChild(actions(r));
  }
  if (rows.length === 0) el.insertRow().insertCell().textContent = "none";
}

function updateStatus(): void {
  const nodes = [...view.model.nodes.values()];
  const down = nodes.filter((n) => n.state === "down");
  const q = $<HTMLInputElement>("#search").value.trim();
  const matchesDown = [...view.highlighted].filter((id) => view.model.nodes.get(id)?.state === "down").length;
  status.value = `${nodes.length} nodes · ${down.length} down${q ? ` · ${view.highlighted.size} match · ${matchesDown} of them down` : ""}${at === undefined ? "" : " · past"}`;
  status.dataset.nodes = String(nodes.length);
  status.dataset.matches = String(view.highlighted.size);
  status.dataset.matchesDown = String(matchesDown);
}

function search(): void {
  view.highlighted = searchNodes(view.model, $<HTMLInputElement>("#search").value);
  if (view.highlighted.size === 1) view.focus([...view.highlighted][0]!);
  view.redraw();
  updateStatus();
}

async function reload(): Promise<void> {
  const g = await graphAt(at);
  view.setGraph(g);
  search();
}
let pending: ReturnType<typeof setTimeout> | undefined;
function reloadSoon(): void {
  clearTimeout(pending);
  pending = setTimeout(
    () =>
      void reload().catch((e: Error) => {
        status.value = e.message;
      }),
    300,
  );
}

// Time travel: the slider is seconds before now; at 0 the graph is live.
$<HTMLInputElement>("#time").addEventListener("input", (e) => {
  const s = Number((e.target as HTMLInputElement).value);
  at = s === 0 ? undefined : Date.now() + s * 1000;
  $("#time-label").textContent = at === undefined ? "live" : new Date(at).toLocaleTimeString();
  reloadSoon();
});
$<HTMLInputElement>("#search").addEventListener("input", search);

function showTab(name: string): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const t of document.querySelectorAll<HTMLElement>(".tab")) t.classList.toggle("active", t.id === `tab-${name}`);
  if (name === "captures") void loadCaptures();
  if (name === "matrix") void loadMatrix();
  if (name === "alerts") void loadAlerts();
}
for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) b.addEventListener("click", () => showTab(b.dataset.tab!));

$<HTMLFormElement>("#gremlin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = $<HTMLInputElement>("#gremlin").value.trim();
  if (!q) return;
  showTab("query");
  try {
    const result = await gremlin<unknown[]>(q);
    $("#query-result").textContent = JSON.stringify(result, null, 2);
    const ids = result.filter((x): x is { ID: string } => Boolean(x && typeof x === "object" && "ID" in x && "Metadata" in x)).map((x) => x.ID);
    view.highlighted = new Set(ids);
    view.redraw();
    updateStatus();
  } catch (err) {
    $("#query-result").textContent = (err as Error).message;
  }
});

view.onSelect = async (id) => {
  const pane = $("#tab-details");
  showTab("details");
  if (!id) return void (pane.innerHTML = '<p class="hint">Click a node; double-click an owner to fold it.</p>');
  const n = view.model.nodes.get(id)!;
  pane.replaceChildren(Object.assign(document.createElement("h3"), { textContent: `${n.name} (${n.type})` }));
  const md = document.createElement("table");
  table(
    md,
    Object.entries({ ID: id, Host: n.host, ...n.metadata }).map(([k, v]) => ({ key: k, value: v })),
    ["key", "value"],
  );
  pane.appendChild(md);
  pane.appendChild(Object.assign(document.createElement("h4"), { textContent: "Flows captured here" }));
  const flows = document.createElement("table");
  pane.appendChild(flows);
  const when = at === undefined ? "G" : `G.At(${Math.round(at)})`;
  try {
    const rows = await gremlin<Record<string, unknown>[]>(`${when}.V('${id.replace(/'/g, "\\'")}').Flows().Sort(DESC, 'Last').Limit(50)`);
    table(flows, rows, ["Application", "Network.A", "Network.B", "Transport.B", "Metric.ABBytes", "Metric.BABytes"]);
  } catch (err) {
    flows.insertRow().insertCell().textContent = (err as Error).message;
  }
};

async function loadCaptures(): Promise<void> {
  const all = Object.values(await call<Record<string, Record<string, unknown>>>("api/capture"));
  table($("#captures"), all, ["Name", "GremlinQuery", "BPFFilter", "Count"], (c) => {
    const b = Object.assign(document.createElement("button"), { textContent: "Delete" });
    b.onclick = async () => {
      await call(`api/capture/${encodeURIComponent(String(c.UUID))}`, { method: "DELETE" });
      await loadCaptures();
    };
    return b;
  });
}
$<HTMLFormElement>("#capture-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const data = new FormData(e.target as HTMLFormElement);
  try {
    await call("api/capture", { method: "POST", body: JSON.stringify({ GremlinQuery: data.get("GremlinQuery"), BPFFilter: data.get("BPFFilter") ?? "" }) });
    (e.target as HTMLFormElement).reset();
  } catch (err) {
    alert((err as Error).message);
  }
  await loadCaptures();
});

async function loadMatrix(): Promise<void> {
  const rows = await call<Record<string, unknown>[]>("api/flowmatrix?from=-1h");
  table($("#matrix"), rows, ["Protocol", "ServerIP", "Port", "ServerProcName", "ClientIP", "ClientProcName", "ClientToServerBytes", "ServerToClientBytes"]);
}

async function loadAlerts(): Promise<void> {
  const all = Object.values(await call<Record<string, Record<string, unknown>>>("api/alert"));
  table($("#alerts"), all, ["Name", "Expression", "Trigger", "Action"]);
}

subscribe(() => {
  if (at === undefined) reloadSoon();
});
void reload().catch((e: Error) => {
  status.value = e.message;
});
