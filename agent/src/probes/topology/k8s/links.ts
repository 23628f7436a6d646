// The edges Skydive's k8s linkers make, computed from the objects alone (no I/O):
//   ownership: cluster -> namespace, node, persistentvolume, storageclass; namespace -> its objects;
//              pod -> container
//   {RelationType: <source kind>, Manager: k8s}: node -> pod ("node"), service -> pod and -> endpoints
//              ("service"), deployment -> replicaset, replicaset / daemonset / statefulset -> pod (by label
//              selector), ingress -> service, pod -> persistentvolumeclaim / configmap / secret ("pod"),
//              persistentvolumeclaim -> persistentvolume, storageclass -> persistentvolumeclaim / persistentvolume
//   networkpolicy -> pod {RelationType: networkpolicy, PolicyType: ingress|egress, PolicyTarget:
//              allow|deny, PolicyPoint: begin (the pods it applies to) | end (the peers it lets in / out),
//              PolicyPorts}
import type { EdgeSpec } from "../../../graph/graph.js";
import { edgeId } from "../../../graph/ids.js";
import { clusterNodeId, containerNodeId, k8sEdgeId, objectNodeId } from "./ids.js";
import { MANAGER } from "./mapping.js";
import { isEmptySelector, matchesMapSelector, matchesSelector, nsOf, type KObject, type LabelSelector } from "./objects.js";
import { RESOURCES, type ResourceName } from "./resources.js";

export type Objects = ReadonlyMap<ResourceName, readonly KObject[]>;

export function k8sEdges(objs: Objects, cluster: string, withCluster: boolean): EdgeSpec[] {
  const edges: EdgeSpec[] = [];
  const id = (o: KObject) => objectNodeId(cluster, o.metadata.uid);
  const list = (k: ResourceName) => objs.get(k) ?? [];
  const own = (parent: string, child: string) =>
    edges.push({ ID: edgeId(parent, child, "ownership"), Parent: parent, Child: child, RelationType: "ownership" });
  const link = (relation: string, a: KObject, b: KObject) =>
    edges.push({ ID: k8sEdgeId(id(a), id(b), relation), Parent: id(a), Child: id(b), RelationType: relation, Metadata: { Manager: MANAGER } });
  const sameNs = (a: KObject, b: KObject) => nsOf(a) === nsOf(b);

  // Ownership: cluster -> cluster-scoped objects, namespace -> namespaced objects, pod -> containers.
  const cid = clusterNodeId(cluster);
  const namespaces = new Map(list("namespace").map((n) => [n.metadata.name, n]));
  for (const [kind, objects] of objs) {
    if (RESOURCES[kind].clusterScoped) {
      if (withCluster) for (const o of objects) own(cid, id(o));
      continue;
    }
    for (const o of objects) {
      const ns = namespaces.get(nsOf(o));
      if (ns) own(id(ns), id(o));
    }
  }
  for (const p of list("pod"))
    for (const c of (p.spec?.containers as { name: string }[] | undefined) ?? []) own(id(p), containerNodeId(cluster, p.metadata.uid, c.name));

  const pods = list("pod");
  // Selectors only look within a namespace: group once rather than scan every pod per selector.
  const podsIn = groupByNs(pods);
  // node -> pod, by spec.nodeName.
  const nodesByName = new Map(list("node").map((n) => [n.metadata.name, n]));
  for (const p of pods) {
    const n = nodesByName.get(p.spec?.nodeName ?? "");
    if (n) link("node", n, p);
  }
  // service -> pod (its map selector; empty selects none) and -> endpoints (same name, or selected).
  for (const s of list("service")) {
    for (const p of podsIn(nsOf(s))) if (matchesMapSelector(p.metadata.labels, s.spec?.selector)) link("service", s, p);
    for (const e of list("endpoints"))
      if (sameNs(s, e) && (e.metadata.name === s.metadata.name || matchesMapSelector(e.metadata.labels, s.spec?.selector))) link("service", s, e);
  }
  // Controllers -> what their label selector picks in their namespace (Skydive links by selector, not ownerReferences).
  for (const d of list("deployment"))
    for (const rs of list("replicaset")) if (sameNs(d, rs) && matchesSelector(rs.metadata.labels, d.spec?.selector)) link("deployment", d, rs);
  for (const kind of ["replicaset", "daemonset", "statefulset"] as const)
    for (const c of list(kind)) for (const p of podsIn(nsOf(c))) if (matchesSelector(p.metadata.labels, c.spec?.selector)) link(kind, c, p);
  // ingress -> the services its default backend and rules point at.
  for (const i of list("ingress")) {
    const names = new Set<string>();
    const svc = i.spec?.defaultBackend?.service?.name;
    if (svc) names.add(svc);
    for (const r of (i.spec?.rules as { http?: { paths?: { backend?: { service?: { name?: string } } }[] } }[] | undefined) ?? [])
      for (const path of r.http?.paths ?? []) if (path.backend?.service?.name) names.add(path.backend.service.name);
    for (const s of list("service")) if (sameNs(i, s) && names.has(s.metadata.name)) link("ingress", i, s);
  }
  // pod -> claims, config maps and secrets it mounts or reads.
  for (const p of pods) {
    const vols = (p.spec?.volumes as Record<string, any>[] | undefined) ?? [];
    const claims = new Set(vols.map((v) => v.persistentVolumeClaim?.claimName).filter(Boolean));
    const cms = new Set(vols.map((v) => v.configMap?.name).filter(Boolean));
    const secrets = new Set(vols.map((v) => v.secret?.secretName).filter(Boolean));
    for (const c of (p.spec?.containers as Record<string, any>[] | undefined) ?? []) {
      for (const e of c.env ?? []) {
        if (e.valueFrom?.configMapKeyRef?.name) cms.add(e.valueFrom.configMapKeyRef.name);
        if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
      }
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef?.name) cms.add(e.configMapRef.name);
        if (e.secretRef?.name) secrets.add(e.secretRef.name);
      }
    }
    for (const c of list("persistentvolumeclaim")) if (sameNs(p, c) && claims.has(c.metadata.name)) link("pod", p, c);
    for (const c of list("configmap")) if (sameNs(p, c) && cms.has(c.metadata.name)) link("pod", p, c);
    for (const s of list("secret")) if (sameNs(p, s) && secrets.has(s.metadata.name)) link("pod", p, s);
  }
  // Storage: claim -> its bound volume; storage class -> its claims and volumes.
  for (const c of list("persistentvolumeclaim"))
    for (const v of list("persistentvolume")) if (c.spec?.volumeName && c.spec.volumeName === v.metadata.name) link("persistentvolumeclaim", c, v);
  for (const sc of list("storageclass")) {
    for (const c of list("persistentvolumeclaim")) if (c.spec?.storageClassName === sc.metadata.name) link("storageclass", sc, c);
    for (const v of list("persistentvolume")) if (v.spec?.storageClassName === sc.metadata.name) link("storageclass", sc, v);
  }
  edges.push(...networkPolicyEdges(list("networkpolicy"), podsIn, list("namespace"), id));
  return edges;
}

function groupByNs(objs: readonly KObject[]): (ns: string) => readonly KObject[] {
  const by = new Map<string, KObject[]>();
  for (const o of objs) {
    const l = by.get(nsOf(o));
    if (l) l.push(o);
    else by.set(nsOf(o), [o]);
  }
  return (ns) => by.get(ns) ?? [];
}

type PolicyType = "ingress" | "egress";
interface Peer {
  podSelector?: LabelSelector | null;
  namespaceSelector?: LabelSelector | null;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { port?: number | string; protocol?: string }[];
}

/** Skydive: a policy is about ingress when it has ingress rules, lists no policyTypes, or lists Ingress. */
const isIngress = (np: KObject) => (np.spec?.ingress?.length ?? 0) > 0 || (np.spec?.policyTypes?.length ?? 0) === 0 || np.spec?.policyTypes.includes("Ingress");
const isEgress = (np: KObject) => (np.spec?.egress?.length ?? 0) > 0 || (np.spec?.policyTypes ?? []).includes("Egress");

/** Skydive: "deny" for a policy that selects every pod of its namespace and has no rule of that direction. */
function target(np: KObject, dir: PolicyType): "allow" | "deny" {
  const rules = (np.spec?.[dir] as Rule[] | undefined) ?? [];
  return isEmptySelector(np.spec?.podSelector) && rules.length === 0 ? "deny" : "allow";
}

/** Skydive's PolicyPorts: only known when the direction has exactly one rule (":80;:53/UDP"). */
function policyPorts(np: KObject, dir: PolicyType): string {
  const rules = (np.spec?.[dir] as Rule[] | undefined) ?? [];
  if (rules.length !== 1) return "";
  return (rules[0]!.ports ?? []).map((p) => `:${p.port ?? "*"}${p.protocol && p.protocol !== "TCP" ? `/${p.protocol}` : ""}`).join(";");
}

/**
 * The pods a rule's peers name. A peer with both selectors means pods matching podSelector in namespaces
 * matching namespaceSelector (the API's meaning; Skydive took the union). ipBlock peers name no pod.
 */
function peerPods(np: KObject, rules: Rule[], dir: PolicyType, podsIn: (ns: string) => readonly KObject[], namespaces: readonly KObject[]): KObject[] {
  const out = new Set<KObject>();
  for (const r of rules) {
    for (const peer of (dir === "ingress" ? r.from : r.to) ?? []) {
      if (peer.namespaceSelector) {
        for (const ns of namespaces.filter((n) => matchesSelector(n.metadata.labels, peer.namespaceSelector)))
          for (const p of podsIn(ns.metadata.name)) if (!peer.podSelector || matchesSelector(p.metadata.labels, peer.podSelector)) out.add(p);
      } else if (peer.podSelector) {
        for (const p of podsIn(nsOf(np))) if (matchesSelector(p.metadata.labels, peer.podSelector)) out.add(p);
      }
    }
  }
  return [...out];
}

function networkPolicyEdges(
  policies: readonly KObject[],
  podsIn: (ns: string) => readonly KObject[],
  namespaces: readonly KObject[],
  id: (o: KObject) => string,
): EdgeSpec[] {
  const edges: EdgeSpec[] = [];
  for (const np of policies) {
    // An empty podSelector ({}) selects every pod of the policy's namespace.
    const selected = podsIn(nsOf(np)).filter((p) => matchesSelector(p.metadata.labels, np.spec?.podSelector ?? {}));
    for (const dir of ["ingress", "egress"] as const) {
      if (dir === "ingress" ? !isIngress(np) : !isEgress(np)) continue;
      const tgt = target(np, dir);
      const ports = policyPorts(np, dir);
      const rules = (np.spec?.[dir] as Rule[] | undefined) ?? [];
      for (const [point, list] of [
        ["begin", selected],
        ["end", peerPods(np, rules, dir, podsIn, namespaces)],
      ] as const) {
        for (const p of list) {
          edges.push({
            ID: k8sEdgeId(id(np), id(p), "networkpolicy", dir, tgt, point),
            Parent: id(np),
            Child: id(p),
            RelationType: "networkpolicy",
            Metadata: { Manager: MANAGER, PolicyType: dir, PolicyTarget: tgt, PolicyPoint: point, PolicyPorts: ports },
          });
        }
      }
    }
  }
  return edges;
}
