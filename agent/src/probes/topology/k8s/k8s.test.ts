// The k8s probe against the replay harness (testdata/replay-apiserver.ts: NOT a Kubernetes API server, a
// replay of recorded API answers) and, for the host links, against real network namespaces made here.
// No Kubernetes API server can run on this machine; testdata/README.md says where each recording is from.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { parseAllDocuments } from "yaml";
import { createRegistry } from "@skystream/common";
import { Graph, type GraphChange, type GraphNode } from "../../../graph/graph.js";
import { hostNodeId } from "../../../graph/ids.js";
import { NetnsLab, ip } from "../../../../../test/harness/netns-lab.ts";
import { makeCerts } from "../../../../../test/harness/certs.ts";
import { waitFor } from "../../../../../test/harness/skystream-process.ts";
import { host } from "../host/index.js";
import { netlink } from "../netlink/index.js";
import { k8s } from "./index.js";
import { emptyCluster, type Obj, type ReplayApiServer } from "./testdata/replay-apiserver.ts";

const DATA = join(import.meta.dirname, "testdata");
const readJson = (path: string) => JSON.parse(readFileSync(join(DATA, path), "utf8"));
const quiet = pino({ level: "warn" });

/** The recorded k3s cluster (troubleshoot support bundle, one resourceVersion: 458202). */
const K3S: [dirOrFile: string, path: string][] = [
  ["namespaces.json", "/api/v1/namespaces"],
  ["nodes.json", "/api/v1/nodes"],
  ["pods", "/api/v1/pods"],
  ["services", "/api/v1/services"],
  ["deployments", "/apis/apps/v1/deployments"],
  ["replicasets", "/apis/apps/v1/replicasets"],
  ["statefulsets", "/apis/apps/v1/statefulsets"],
  ["jobs", "/apis/batch/v1/jobs"],
  ["cronjobs", "/apis/batch/v1/cronjobs"],
  ["ingress", "/apis/networking.k8s.io/v1/ingresses"],
  ["network-policy", "/apis/networking.k8s.io/v1/networkpolicies"],
  ["pvcs", "/api/v1/persistentvolumeclaims"],
  ["pvs.json", "/api/v1/persistentvolumes"],
  ["storage-classes.json", "/apis/storage.k8s.io/v1/storageclasses"],
];

function k3sLists(): Map<string, Obj[]> {
  const out = new Map<string, Obj[]>();
  for (const [what, path] of K3S) {
    const files = what.endsWith(".json") ? [what] : readdirSync(join(DATA, "k3s-support-bundle", what)).map((f) => join(what, f));
    out.set(
      path,
      files.flatMap((f) => readJson(join("k3s-support-bundle", f)).items as Obj[]),
    );
  }
  return out;
}

function seedK3s(s: ReplayApiServer): void {
  for (const [path, items] of k3sLists()) s.seed(path, items, 458202);
}

/** Skydive's e2e manifests, created through the harness as `kubectl create -f` would. */
const PATH_OF: Record<string, string> = {
  Namespace: "/api/v1/namespaces",
  Pod: "/api/v1/pods",
  NetworkPolicy: "/apis/networking.k8s.io/v1/networkpolicies",
  PersistentVolume: "/api/v1/persistentvolumes",
  PersistentVolumeClaim: "/api/v1/persistentvolumeclaims",
  Endpoints: "/api/v1/endpoints",
};
function createManifest(s: ReplayApiServer, file: string): void {
  for (const doc of parseAllDocuments(readFileSync(join(DATA, "skydive-manifests", file), "utf8"))) {
    const m = doc.toJSON() as Record<string, any>;
    s.create(PATH_OF[m.kind]!, m);
  }
}

const running = new Set<{ stop(): Promise<void> }>();
/** Stops the probes before the harness goes, so they do not log its disappearance. */
const closeAfter = (t: { after(fn: () => unknown): void }, server: ReplayApiServer) =>
  t.after(async () => {
    await Promise.all([...running].map((p) => p.stop()));
    await server.close();
  });

interface Setup {
  graph: Graph;
  changes: GraphChange[];
  server: ReplayApiServer;
  registry: ReturnType<typeof createRegistry>;
}

async function startProbe(
  t: { after(fn: () => unknown): void },
  server: ReplayApiServer,
  cfg: Record<string, unknown>,
  graph = new Graph("k8shost", "agent.k8shost"),
) {
  const registry = createRegistry("test");
  const changes: GraphChange[] = [];
  graph.onChange((c) => changes.push(c));
  const probe = k8s.create(k8s.config.parse({ api_url: server.url, cluster_name: "k3d-mycluster", debounce: "10ms", ...cfg }), {
    id: "k8s",
    hostId: "k8shost",
    graph,
    log: quiet,
    metrics: registry,
  });
  await probe.start();
  running.add(probe);
  t.after(async () => {
    await probe.stop();
    running.delete(probe);
  });
  return { graph, changes, server, registry, probe } as Setup & { probe: typeof probe };
}

const nodes = (g: Graph, type: string) => [...g.nodes.values()].filter((n) => n.Type === type);
const named = (g: Graph, type: string, name: string, ns?: string): GraphNode => {
  const n = nodes(g, type).find((x) => x.Name === name && (ns === undefined || (x.Metadata.K8s as { Namespace: string }).Namespace === ns));
  assert.ok(n, `${type} ${name} in the graph`);
  return n;
};
const k8sMd = (n: GraphNode) => n.Metadata.K8s as Record<string, any>;
const edgesBetween = (g: Graph, a: GraphNode, b: GraphNode) => [...g.edges.values()].filter((e) => e.Parent === a.ID && e.Child === b.ID);
const hasEdge = (g: Graph, a: GraphNode, b: GraphNode, rel: string, md: Record<string, unknown> = {}) =>
  edgesBetween(g, a, b).some((e) => e.RelationType === rel && Object.entries(md).every(([k, v]) => e.Metadata[k] === v));

test("k8s: the recorded k3s cluster's objects become Skydive's node types with their metadata and state", async (t) => {
  const server = emptyCluster();
  seedK3s(server);
  await server.listen();
  closeAfter(t, server);
  const { graph } = await startProbe(t, server, {});

  const counts = Object.fromEntries(
    [
      "cluster",
      "namespace",
      "node",
      "pod",
      "container",
      "service",
      "deployment",
      "replicaset",
      "job",
      "persistentvolumeclaim",
      "persistentvolume",
      "storageclass",
    ].map((ty) => [ty, nodes(graph, ty).length]),
  );
  assert.deepEqual(counts, {
    cluster: 1,
    namespace: 4,
    node: 1,
    pod: 8,
    container: 10,
    service: 4,
    deployment: 5,
    replicaset: 6,
    job: 2,
    persistentvolumeclaim: 4,
    persistentvolume: 4,
    storageclass: 1,
  });
  for (const n of graph.nodes.values()) {
    assert.equal(n.Metadata.Manager, "k8s", `${n.Type} ${n.Name} managed by k8s`);
    assert.equal(n.Metadata.ClusterName, "k3d-mycluster");
  }

  const coredns = named(graph, "pod", "coredns-b96499967-tncf4");
  assert.equal(coredns.Metadata.State, "UP");
  assert.deepEqual(
    { ...k8sMd(coredns), Extra: undefined },
    {
      Name: "coredns-b96499967-tncf4",
      Namespace: "kube-system",
      Labels: { "k8s-app": "kube-dns", "pod-template-hash": "b96499967" },
      Node: "k3d-mycluster-server-0",
      Status: "Running",
      IP: "10.42.0.146",
      Extra: undefined,
    },
  );
  const extra = k8sMd(coredns).Extra;
  assert.equal(extra.status.podIP, "10.42.0.146", "K8s.Extra holds the object");
  assert.equal(extra.metadata.managedFields, undefined, "without managedFields");
  assert.equal(extra.spec.containers, undefined, "pod Extra without its containers (they are nodes)");

  // A finished job's pod: Succeeded, so DOWN.
  const helm = named(graph, "pod", "helm-install-traefik-2fxbg");
  assert.equal(k8sMd(helm).Status, "Succeeded");
  assert.equal(helm.Metadata.State, "DOWN");

  const ctr = nodes(graph, "container").find((c) => k8sMd(c).Pod === "coredns-b96499967-tncf4")!;
  assert.equal(ctr.Name, "coredns");
  assert.equal(k8sMd(ctr).Runtime, "containerd");
  assert.equal(k8sMd(ctr).ContainerID, "420fc0176ddf790b68cfe6ffeb9379e27298360d72eca5f12d6ea4da2abe16a3");
  assert.equal(k8sMd(ctr).Image, "rancher/mirrored-coredns-coredns:1.9.1");
  assert.equal(ctr.Metadata.State, "UP");

  const node = named(graph, "node", "k3d-mycluster-server-0");
  assert.equal(node.Metadata.State, "UP");
  assert.equal(k8sMd(node).InternalIP, "172.19.0.2");
  assert.equal(k8sMd(node).Hostname, "k3d-mycluster-server-0");
  assert.equal(k8sMd(node).Arch, "arm64");
  assert.equal(k8sMd(node).Kernel, "5.15.49-linuxkit");

  assert.equal(k8sMd(named(graph, "namespace", "kube-system")).Status, "Active");
  const svc = named(graph, "service", "kube-dns");
  assert.equal(k8sMd(svc).ClusterIP, "10.43.0.10");
  assert.equal(k8sMd(svc).ServiceType, "ClusterIP");
  assert.deepEqual(
    k8sMd(svc).Ports.map((p: Record<string, unknown>) => `${p.Name}:${p.Port}/${p.Protocol}`),
    ["dns:53/UDP", "dns-tcp:53/TCP", "metrics:9153/TCP"],
  );
  const dep = named(graph, "deployment", "coredns");
  assert.deepEqual([k8sMd(dep).DesiredReplicas, k8sMd(dep).ReadyReplicas], [1, 1]);
  const pvc = named(graph, "persistentvolumeclaim", "redis-data-my-release-redis-master-0");
  assert.equal(pvc.Metadata.State, "UP");
  assert.equal(k8sMd(pvc).Status, "Bound");
  assert.equal(k8sMd(pvc).VolumeName, "pvc-a7115a58-9c65-490c-b7d3-034c2e0ea135");
  const pv = named(graph, "persistentvolume", "pvc-a7115a58-9c65-490c-b7d3-034c2e0ea135");
  assert.equal(pv.Metadata.State, "UP");
  assert.equal(k8sMd(pv).ClaimRef, "redis-data-my-release-redis-master-0");
  assert.equal(k8sMd(named(graph, "storageclass", "local-path")).Provisioner, "rancher.io/local-path");
  assert.equal(k8sMd(named(graph, "job", "helm-install-traefik")).Succeeded, 1);
});

test("k8s: edges of the recorded cluster: ownership, node, selectors (service, deployment, replicaset), storage", async (t) => {
  const server = emptyCluster();
  seedK3s(server);
  await server.listen();
  closeAfter(t, server);
  const { graph: g } = await startProbe(t, server, {});

  const cluster = nodes(g, "cluster")[0]!;
  const kubeSystem = named(g, "namespace", "kube-system");
  const coredns = named(g, "pod", "coredns-b96499967-tncf4");
  assert.ok(hasEdge(g, cluster, kubeSystem, "ownership"), "cluster owns its namespaces");
  for (const [ty, name] of [
    ["node", "k3d-mycluster-server-0"],
    ["storageclass", "local-path"],
    ["persistentvolume", "pvc-d7d9ac1c-e68e-4805-abcc-71037f792a94"],
  ] as const)
    assert.ok(hasEdge(g, cluster, named(g, ty, name), "ownership"), `cluster owns ${ty}`);
  assert.ok(hasEdge(g, kubeSystem, coredns, "ownership"), "namespace owns its pods");
  assert.ok(hasEdge(g, kubeSystem, named(g, "service", "kube-dns"), "ownership"));
  assert.ok(hasEdge(g, named(g, "namespace", "default"), named(g, "persistentvolumeclaim", "redis-data-my-release-redis-replicas-1"), "ownership"));
  const ctr = nodes(g, "container").find((c) => k8sMd(c).Pod === coredns.Name)!;
  assert.ok(hasEdge(g, coredns, ctr, "ownership"), "pod owns its containers");
  // Each node has one ownership parent.
  const parents = new Map<string, number>();
  for (const e of g.edges.values()) if (e.RelationType === "ownership") parents.set(e.Child, (parents.get(e.Child) ?? 0) + 1);
  assert.ok([...parents.values()].every((n) => n === 1));
  assert.equal(parents.size, g.nodes.size - 1, "everything but the cluster node has an owner");

  const k8sNode = named(g, "node", "k3d-mycluster-server-0");
  for (const p of nodes(g, "pod")) assert.ok(hasEdge(g, k8sNode, p, "node", { Manager: "k8s" }), `node -> ${p.Name}`);

  // Selectors, as Skydive links them.
  assert.ok(hasEdge(g, named(g, "service", "kube-dns"), coredns, "service", { Manager: "k8s" }));
  assert.ok(hasEdge(g, named(g, "service", "metrics-server"), named(g, "pod", "metrics-server-668d979685-wttxd"), "service"));
  assert.ok(hasEdge(g, named(g, "service", "traefik"), named(g, "pod", "traefik-7cd4fcff68-9blj6"), "service"));
  assert.equal([...g.edges.values()].filter((e) => e.Parent === named(g, "service", "kubernetes").ID).length, 0, "a service without selector selects nothing");
  assert.ok(hasEdge(g, named(g, "deployment", "coredns"), named(g, "replicaset", "coredns-b96499967"), "deployment"));
  assert.ok(hasEdge(g, named(g, "replicaset", "coredns-b96499967"), coredns, "replicaset"));
  // nginx-deployment's selector (app=nginx) picks both its replica sets; each replica set only its own pods.
  const nginxDep = named(g, "deployment", "nginx-deployment");
  const [oldRs, curRs] = [named(g, "replicaset", "nginx-deployment-d74bb6667"), named(g, "replicaset", "nginx-deployment-7986654d4")];
  assert.ok(hasEdge(g, nginxDep, oldRs, "deployment") && hasEdge(g, nginxDep, curRs, "deployment"));
  const nginxPod = named(g, "pod", "nginx-deployment-7986654d4-ztx2g");
  assert.ok(hasEdge(g, curRs, nginxPod, "replicaset"));
  assert.ok(!hasEdge(g, oldRs, nginxPod, "replicaset"), "the old replica set's pod-template-hash does not match");

  // Storage: claim -> bound volume, storage class -> claims and volumes.
  const sc = named(g, "storageclass", "local-path");
  for (const c of nodes(g, "persistentvolumeclaim")) {
    const pv = named(g, "persistentvolume", k8sMd(c).VolumeName);
    assert.ok(hasEdge(g, c, pv, "persistentvolumeclaim", { Manager: "k8s" }), `${c.Name} -> its volume`);
    assert.ok(hasEdge(g, sc, c, "storageclass") && hasEdge(g, sc, pv, "storageclass"));
  }
});

test("k8s: network policies link pods as Skydive does (ingress/egress, allow/deny, begin/end); pod -> claim", async (t) => {
  const server = emptyCluster();
  server.create("/api/v1/namespaces", { metadata: { name: "default" } });
  await server.listen();
  closeAfter(t, server);
  for (const f of readdirSync(join(DATA, "skydive-manifests"))) createManifest(server, f);
  const { graph: g } = await startProbe(t, server, {});

  const np = (name: string) => named(g, "networkpolicy", `skydive-test-networkpolicy-${name}`);
  const pod = (name: string) => named(g, "pod", `skydive-test-networkpolicy-${name}`);
  const policyEdges = (p: GraphNode) =>
    [...g.edges.values()]
      .filter((e) => e.Parent === p.ID)
      .map((e) => `${e.Metadata.PolicyType}/${e.Metadata.PolicyTarget}/${e.Metadata.PolicyPoint} -> ${g.nodes.get(e.Child)?.Name}`)
      .sort();

  // Skydive's TestK8sNetworkPolicy{Deny,Allow}{Ingress,Egress}Scenario: the policy's own pod at "begin".
  // The default-namespace policies select every pod of the namespace ({} selector), hence the other pods too.
  for (const [name, type, target] of [
    ["ingress-deny", "ingress", "deny"],
    ["ingress-allow", "ingress", "allow"],
    ["egress-deny", "egress", "deny"],
    ["egress-allow", "egress", "allow"],
  ] as const) {
    assert.ok(hasEdge(g, np(name), pod(name), "networkpolicy", { PolicyType: type, PolicyTarget: target, PolicyPoint: "begin", Manager: "k8s" }), name);
    assert.ok(
      policyEdges(np(name)).every((e) => e.startsWith(`${type}/${target}/begin`)),
      `${name}: only ${type}/${target}/begin edges`,
    );
  }
  // ingress-allow has an empty rule ({}): no peer selector, so no "end" pods (Skydive's getPeerPods).
  // allow-pod: the selected pod at begin, the allowed peer at end.
  assert.deepEqual(policyEdges(np("ingress-allow-pod")), [
    "ingress/allow/begin -> skydive-test-networkpolicy-ingress-allow-pod-to",
    "ingress/allow/end -> skydive-test-networkpolicy-ingress-allow-pod-from",
  ]);
  // allow-namespace: every pod of its namespace at begin, the pods of namespaces labelled app=...-from at end.
  assert.deepEqual(policyEdges(np("ingress-allow-namespace")), [
    "ingress/allow/begin -> skydive-test-networkpolicy-ingress-allow-namespace-to",
    "ingress/allow/end -> skydive-test-networkpolicy-ingress-allow-namespace-from",
  ]);
  // allow-ports: one rule, so its ports are known.
  const ports = [...g.edges.values()].find((e) => e.Parent === np("ingress-allow-ports").ID && e.Child === pod("ingress-allow-ports-to").ID)!;
  assert.equal(ports.Metadata.PolicyPorts, ":80");
  assert.ok(hasEdge(g, np("ingress-allow-ports"), pod("ingress-allow-ports-from"), "networkpolicy", { PolicyPoint: "end" }));

  // Skydive's pv-pod / pv-claim / pv-volume: the pod mounts the claim; the claim is not bound (no volumeName).
  const claim = named(g, "persistentvolumeclaim", "task-pv-claim");
  assert.ok(hasEdge(g, named(g, "pod", "task-pv-pod"), claim, "pod", { Manager: "k8s" }));
  assert.equal(edgesBetween(g, claim, named(g, "persistentvolume", "task-pv-volume")).length, 0);
  assert.equal(claim.Metadata.State, "DOWN", "a claim not Bound is DOWN");
  const ep = named(g, "endpoints", "skydive-test-endpoints", "default");
  assert.ok(hasEdge(g, named(g, "namespace", "default"), ep, "ownership"));
  // Pods as created (not scheduled yet): no phase, DOWN.
  assert.equal(pod("ingress-deny").Metadata.State, "DOWN");
});

test("k8s: a recorded watch stream: MODIFIED pod -> UPDATE with the new state, DELETED -> node and edges removed", async (t) => {
  const server = emptyCluster();
  await server.listen();
  closeAfter(t, server);
  server.seed("/api/v1/namespaces", [
    {
      metadata: { name: "default", uid: "9baf2047-d26b-4a81-902b-95bb1d352b2a", resourceVersion: "100", labels: { "kubernetes.io/metadata.name": "default" } },
      status: { phase: "Active" },
    },
  ]);
  server.seed("/api/v1/pods", [], 744000);
  const { graph: g, changes } = await startProbe(t, server, {});
  const events = readFileSync(join(DATA, "watch-network-tool.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: "ADDED" | "MODIFIED" | "DELETED"; object: Obj });
  assert.deepEqual(
    events.map((e) => e.type),
    ["ADDED", "ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"],
  );
  const podChanges = (name: string) => changes.filter((c) => c.node?.Type === "pod" && c.node.Name === name);

  server.apply("/api/v1/pods", events[0]!.type, events[0]!.object);
  server.apply("/api/v1/pods", events[1]!.type, events[1]!.object);
  await waitFor("both pods", async () => nodes(g, "pod").length === 2, 5000, 10);
  const pod = named(g, "pod", "network-tool");
  assert.equal(pod.Metadata.State, "UP");
  assert.equal(k8sMd(pod).IP, "10.244.0.8");
  assert.ok(hasEdge(g, named(g, "namespace", "default"), pod, "ownership"));
  const ctr = named(g, "container", "network-tool", "default");
  assert.equal(ctr.Metadata.State, "UP");

  // Deletion requested: still running and ready, so still UP, but its metadata (Extra) changed.
  const before = podChanges("network-tool").length;
  server.apply("/api/v1/pods", events[2]!.type, events[2]!.object);
  await waitFor("update", async () => podChanges("network-tool").length > before, 5000, 10);
  const u1 = podChanges("network-tool").at(-1)!;
  assert.equal(u1.op, "UPDATE");
  assert.equal(u1.node!.Metadata.State, "UP");
  assert.equal((k8sMd(u1.node!).Extra as Obj).metadata.deletionTimestamp, "2023-03-10T15:59:10Z");

  // The kubelet killed the container: Ready=False -> DOWN, with a new Revision.
  server.apply("/api/v1/pods", events[3]!.type, events[3]!.object);
  await waitFor("down", async () => g.nodes.get(pod.ID)?.Metadata.State === "DOWN", 5000, 10);
  const u2 = podChanges("network-tool").at(-1)!;
  assert.equal(u2.op, "UPDATE");
  assert.ok(u2.node!.Revision > u1.node!.Revision);
  assert.equal(g.nodes.get(ctr.ID)?.Metadata.State, "DOWN", "its container is no longer running");

  server.apply("/api/v1/pods", events[4]!.type, events[4]!.object);
  server.apply("/api/v1/pods", events[5]!.type, events[5]!.object);
  await waitFor("deleted", async () => !g.nodes.has(pod.ID), 5000, 10);
  assert.equal(podChanges("network-tool").at(-1)!.op, "DELETE");
  assert.ok(!g.nodes.has(ctr.ID), "its container node goes with it");
  assert.ok(![...g.edges.values()].some((e) => e.Parent === pod.ID || e.Child === pod.ID), "no edge left on it");
  assert.ok(g.nodes.has(named(g, "pod", "network-tool1").ID), "the other pod stays");
  assert.ok(server.requests.some((r) => r.startsWith("/api/v1/pods?") && r.includes("watch=1") && r.includes("allowWatchBookmarks=true")));
});

test("k8s: a watch resumed from a compacted resourceVersion gets 410 Gone and the probe lists again", async (t) => {
  const server = emptyCluster();
  seedK3s(server);
  await server.listen();
  closeAfter(t, server);
  const { graph: g, registry } = await startProbe(t, server, {});
  const metrics = named(g, "pod", "metrics-server-668d979685-wttxd");
  await waitFor("watches open", async () => server.openWatches >= 17, 5000, 10);
  const podLists = () => server.requests.filter((r) => r.startsWith("/api/v1/pods?") && !r.includes("watch=1")).length;
  assert.equal(podLists(), 1);

  // While the probe is cut off, a pod goes away and the history is compacted: its next watch is too old.
  server.silently("/api/v1/pods", (objs) => objs.delete(k8sMd(metrics).Extra.metadata.uid));
  server.compact();
  server.dropWatches();
  await waitFor("pod gone after relist", async () => !g.nodes.has(metrics.ID), 5000, 10);
  assert.ok(podLists() >= 2, "pods listed again");
  const relists = (await registry.getSingleMetric("skystream_agent_k8s_relists_total")!.get()).values;
  assert.ok(relists.some((v) => v.labels.resource === "pod" && v.labels.reason === "gone" && v.value >= 1));
  assert.ok(g.nodes.has(named(g, "pod", "coredns-b96499967-tncf4").ID), "the rest is still there");
  // And it is watching again, from the new list's resourceVersion.
  await waitFor("watching again", async () => server.openWatches >= 17, 5000, 10);
  server.apply("/api/v1/pods", "MODIFIED", { ...server.get("/api/v1/pods", "coredns-b96499967-tncf4")!, status: { phase: "Failed" } });
  await waitFor("modified after relist", async () => named(g, "pod", "coredns-b96499967-tncf4").Metadata.State === "DOWN", 5000, 10);
});

test("k8s: stop() returns at once even while a watch still waits for the server's first byte", async (t) => {
  const server = emptyCluster();
  seedK3s(server);
  server.stalled.add("/api/v1/nodes");
  await server.listen();
  closeAfter(t, server);
  const { graph: g, probe } = await startProbe(t, server, { resources: ["node"] });
  assert.equal(nodes(g, "node").length, 1);
  await waitFor("watch sent", async () => server.requests.some((r) => r.includes("watch=1")), 5000, 10);
  const t0 = Date.now();
  await probe.stop();
  assert.ok(Date.now() - t0 < 2000, `stopped in ${Date.now() - t0} ms`);
});

test("k8s: reads the API's own bytes: a recorded kind list and watch stream, delivered in small chunks", async (t) => {
  const server = emptyCluster();
  await server.listen();
  closeAfter(t, server);
  // k8s-openapi recorded these against a kind v1.36 cluster (namespace kube-system); served byte for byte.
  const list = (readJson("kind-v1.36/pod-list.json") as { response_body: string }[])[0]!.response_body;
  const watch = (readJson("kind-v1.36/watch_event-watch_pods.json") as { response_body: string }[])[0]!.response_body;
  const rv = (JSON.parse(list) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  server.raw("/api/v1/pods?limit=500", list, 7);
  server.raw(`/api/v1/pods?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=300`, watch, 7);
  const { graph: g } = await startProbe(t, server, { resources: ["pod"] });
  assert.equal(nodes(g, "pod").length, 8);
  const etcd = named(g, "pod", "etcd-v1.36-control-plane");
  assert.equal(k8sMd(etcd).HostNetwork, true);
  assert.equal(k8sMd(etcd).IP, "172.18.0.3");
  const dns = named(g, "pod", "coredns-589f44dc88-4fpns");
  assert.equal(dns.Metadata.State, "UP");
  assert.equal(k8sMd(dns).IP, "10.244.0.3");
  assert.match(k8sMd(named(g, "container", "coredns", "kube-system")).ContainerID, /^[0-9a-f]{64}$/);
  // The recorded watch repeats five pods as ADDED; after it ends the probe watches again from the last event.
  await waitFor(
    "re-watch from the stream's last resourceVersion",
    async () => server.requests.some((r) => r.includes("watch=1&resourceVersion=415")),
    5000,
    10,
  );
  assert.equal(nodes(g, "pod").length, 8);
});

test("k8s: node_only, linked to this host: pod -> its network namespace and interface (real netns), host -> node", { timeout: 60_000 }, async (t) => {
  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const ns = lab.ns("pod");
  const [hostEnd, podEnd] = lab.veth("h", "", "p", ns);
  ip("-n", ns, "addr", "add", "198.18.90.2/24", "dev", podEnd);
  ip("addr", "add", "198.18.90.1/24", "dev", hostEnd);

  const server = emptyCluster();
  seedK3s(server);
  // The recorded nginx pod, moved to this lab: its IP (10.42.0.145) rewritten to the lab's 198.18.90.2.
  const pods = k3sLists().get("/api/v1/pods")!;
  const nginx = pods.find((p) => p.metadata.name === "nginx-deployment-7986654d4-ztx2g")!;
  server.silently("/api/v1/pods", (objs) =>
    objs.set(nginx.metadata.uid, { ...nginx, status: { ...nginx.status, podIP: "198.18.90.2", podIPs: [{ ip: "198.18.90.2" }] } }),
  );
  await server.listen();
  closeAfter(t, server);

  const graph = new Graph("k8shost", "agent.k8shost");
  const deps = { hostId: "k8shost", graph, log: quiet, metrics: createRegistry("test") };
  const h = host.create(host.config.parse({}), { ...deps, id: "host" });
  const nl = netlink.create(netlink.config.parse({ anonymous_interval: 0, metrics_interval: 0 }), { ...deps, id: "netlink" });
  await h.start();
  await nl.start();
  t.after(() => nl.stop());
  const { graph: g } = await startProbe(t, server, { node_only: true, node_name: "k3d-mycluster-server-0" }, graph);

  // Only this node's part: the pods scheduled on it (the API filters them), their containers, the node.
  assert.ok(server.requests.some((r) => r.startsWith("/api/v1/pods?") && r.includes("fieldSelector=spec.nodeName%3Dk3d-mycluster-server-0")));
  assert.deepEqual(new Set([...g.nodes.values()].filter((n) => n.Metadata.Manager === "k8s").map((n) => n.Type)), new Set(["pod", "container", "node"]));
  assert.equal(nodes(g, "cluster").length + nodes(g, "namespace").length + nodes(g, "service").length, 0, "no cluster-wide objects");

  const pod = named(g, "pod", "nginx-deployment-7986654d4-ztx2g");
  const netns = nodes(g, "netns").find((n) => n.Name === ns)!;
  const iface = [...g.nodes.values()].find((n) => n.Name === podEnd)!;
  await waitFor("pod linked to its namespace", async () => hasEdge(g, pod, netns, "pod", { Manager: "k8s" }), 5000, 20);
  assert.ok(hasEdge(g, pod, iface, "pod", { Manager: "k8s" }), "and to the interface holding its IP");
  // The host side of its veth is one layer2 hop away (the netlink probe's veth edge).
  const hostIf = [...g.nodes.values()].find((n) => n.Name === hostEnd)!;
  assert.ok([...g.edges.values()].some((e) => e.RelationType === "layer2" && [e.Parent, e.Child].sort().join() === [iface.ID, hostIf.ID].sort().join()));
  // Other pods' IPs (10.42.0.x) are on no interface here: no link.
  assert.equal([...g.edges.values()].filter((e) => e.RelationType === "pod" && g.nodes.get(e.Child)?.Type === "netns").length, 1);
  assert.ok(hasEdge(g, g.nodes.get(hostNodeId("k8shost"))!, named(g, "node", "k3d-mycluster-server-0"), "node", { Manager: "k8s" }), "host -> its k8s node");

  // What the docker probe writes for a running container (here by hand: no engine runs this pod): the k8s
  // container with that id is joined to it, as Skydive's container linker does.
  const nginxCtr = (nginx.status!.containerStatuses as { name: string; containerID: string }[]).find((c) => c.name === "nginx")!;
  const runtimeId = "runtime-container-node";
  graph.sync(
    "docker",
    [{ ID: runtimeId, Type: "container", Name: "nginx", Metadata: { Manager: "docker", Container: { ID: nginxCtr.containerID.split("://")[1] } } }],
    [],
  );
  const k8sCtr = nodes(g, "container").find((c) => c.Metadata.Manager === "k8s" && k8sMd(c).Pod === pod.Name && c.Name === "nginx")!;
  await waitFor("k8s container -> runtime container", async () => hasEdge(g, k8sCtr, g.nodes.get(runtimeId)!, "container", { Manager: "k8s" }), 5000, 20);

  // The address moves away: the link goes; it comes back: the link returns.
  ip("-n", ns, "addr", "del", "198.18.90.2/24", "dev", podEnd);
  await waitFor("unlinked", async () => !hasEdge(g, pod, netns, "pod"), 5000, 20);
  ip("-n", ns, "addr", "add", "198.18.90.2/24", "dev", podEnd);
  await waitFor("linked again", async () => hasEdge(g, pod, netns, "pod"), 5000, 20);
});

test("k8s: kubeconfig with a CA and a bearer token over HTTPS; a wrong token fails the start with a clear error", async (t) => {
  const certs = makeCerts();
  const server = emptyCluster({ token: "s3cret", tls: { cert: readFileSync(certs.server.cert), key: readFileSync(certs.server.key) } });
  seedK3s(server);
  await server.listen();
  closeAfter(t, server);
  const dir = mkdtempSync(join(tmpdir(), "skystream-k8s-"));
  const kubeconfig = (token: string, user = `  user: {token: ${token}}`) => {
    const path = join(dir, `config-${token}`);
    writeFileSync(
      path,
      [
        "apiVersion: v1",
        "kind: Config",
        "current-context: lab",
        "clusters:",
        `- name: lab-cluster`,
        `  cluster: {server: "${server.url}", certificate-authority-data: ${readFileSync(certs.ca).toString("base64")}}`,
        "contexts:",
        "- name: lab",
        "  context: {cluster: lab-cluster, user: lab-user}",
        "users:",
        "- name: lab-user",
        user,
      ].join("\n"),
    );
    return path;
  };
  const { graph: g } = await startProbe(t, server, { api_url: "", cluster_name: "", kubeconfig: kubeconfig("s3cret"), resources: ["namespace", "node"] });
  assert.equal(nodes(g, "namespace").length, 4);
  assert.equal(nodes(g, "cluster")[0]!.Name, "lab-cluster", "cluster name from the kubeconfig context");

  await assert.rejects(startProbe(t, server, { api_url: "", kubeconfig: kubeconfig("wrong"), resources: ["node"] }), /HTTP 401 .*check the token/);
  // An exec credential plugin (as EKS and GKE configure): its ExecCredential's token is used.
  const plugin = join(dir, "get-token.sh");
  writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"s3cret"}}'\n`, {
    mode: 0o755,
  });
  const viaExec = kubeconfig("exec", `  user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ${plugin}}}`);
  const { graph: g2 } = await startProbe(t, server, { api_url: "", kubeconfig: viaExec, resources: ["node"] });
  assert.equal(nodes(g2, "node").length, 1);
  assert.throws(() => k8s.config.parse({ api_url: "https://x", kubeconfig: "/k" }), /api_url and kubeconfig exclude each other/);
  assert.throws(() => k8s.config.parse({ token: "t" }), /token needs api_url/);
});
