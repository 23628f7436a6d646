// Kubernetes objects -> graph nodes, as Skydive's k8s sub-probes map them: Type is the sub-probe name,
// Manager "k8s", Name the object's name, K8s{Name, Namespace, Labels, <kind fields>, Extra} and, for
// some kinds, State UP/DOWN. Pure functions; ids come from ids.ts.
import type { NodeSpec } from "../../../graph/graph.js";
import { clusterNodeId, containerNodeId, objectNodeId } from "./ids.js";
import type { KObject } from "./objects.js";
import type { ResourceName } from "./resources.js";

export const MANAGER = "k8s";

export interface MapOptions {
  cluster: string;
  extra: boolean;
}

type Fields = Record<string, unknown>;

const state = (up: boolean) => (up ? "UP" : "DOWN");

/** The object for K8s.Extra: managedFields dropped (field-manager bookkeeping, rewritten on each write). */
function extraOf(o: unknown): unknown {
  const obj = o as KObject;
  if (!obj?.metadata?.managedFields) return o;
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** Skydive's NewMetadataFields: Name, Namespace, Labels. */
function baseFields(o: KObject): Fields {
  return { Name: o.metadata.name, Namespace: o.metadata.namespace ?? "", Labels: o.metadata.labels ?? {} };
}

function node(kind: string, id: string, name: string, k8s: Fields, extra: unknown, opts: MapOptions, top: Fields = {}): NodeSpec {
  const K8s: Fields = { ...k8s };
  if (opts.extra && extra !== undefined) K8s.Extra = extraOf(extra);
  return { ID: id, Type: kind, Name: name, Metadata: { Manager: MANAGER, ClusterName: opts.cluster, K8s, ...top } };
}

const condition = (o: KObject, type: string) => (o.status?.conditions as { type: string; status: string }[] | undefined)?.find((c) => c.type === type)?.status;

/** Skydive's pod Status: status.reason (e.g. Evicted) when set, else the phase. */
export const podStatus = (p: KObject): string => (p.status?.reason as string) || (p.status?.phase as string) || "";

/**
 * A pod is UP when Running (Skydive's rule) and its Ready condition is True: a running pod whose
 * containers died or that is being terminated shows DOWN (Skydive would still say UP).
 */
export const podUp = (p: KObject): boolean => podStatus(p) === "Running" && condition(p, "Ready") === "True";

function kindFields(kind: ResourceName, o: KObject): { fields: Fields; top?: Fields } {
  const spec = o.spec ?? {};
  const st = o.status ?? {};
  switch (kind) {
    case "pod": {
      const f: Fields = { Node: spec.nodeName ?? "", Status: podStatus(o) };
      if (st.podIP) f.IP = st.podIP;
      const ips = (st.podIPs as { ip: string }[] | undefined)?.map((x) => x.ip) ?? [];
      if (ips.length > 1) f.IPs = ips;
      if (spec.hostNetwork) f.HostNetwork = true;
      return { fields: f, top: { State: state(podUp(o)) } };
    }
    case "node": {
      const f: Fields = {};
      for (const a of (st.addresses as { type: string; address: string }[] | undefined) ?? []) {
        if (a.type === "Hostname" || a.type === "InternalIP" || a.type === "ExternalIP") f[a.type] ??= a.address;
      }
      f.Arch = st.nodeInfo?.architecture ?? "";
      f.Kernel = st.nodeInfo?.kernelVersion ?? "";
      f.OS = st.nodeInfo?.operatingSystem ?? "";
      // Not in Skydive: a node is UP when its Ready condition is True.
      return { fields: f, top: { State: state(condition(o, "Ready") === "True") } };
    }
    case "namespace":
      return { fields: { Status: st.phase ?? "" } };
    case "service": {
      const ports = ((spec.ports as Record<string, unknown>[] | undefined) ?? []).map((p) => {
        const m: Fields = {};
        if (p.name) m.Name = p.name;
        if (p.protocol) m.Protocol = p.protocol;
        if (p.port) m.Port = p.port;
        if (p.nodePort) m.NodePort = p.nodePort;
        if (p.targetPort !== undefined && p.targetPort !== "") m.TargetPort = String(p.targetPort);
        return m;
      });
      const f: Fields = { Ports: ports, ClusterIP: spec.clusterIP ?? "", ServiceType: spec.type ?? "" };
      if (spec.sessionAffinity) f.SessionAffinity = spec.sessionAffinity;
      if (spec.loadBalancerIP) f.LoadBalancerIP = spec.loadBalancerIP;
      if (spec.externalName) f.ExternalName = spec.externalName;
      return { fields: f };
    }
    case "deployment":
      return {
        fields: {
          DesiredReplicas: spec.replicas ?? 1,
          Replicas: st.replicas ?? 0,
          ReadyReplicas: st.readyReplicas ?? 0,
          AvailableReplicas: st.availableReplicas ?? 0,
          UnavailableReplicas: st.unavailableReplicas ?? 0,
        },
      };
    case "daemonset":
      return {
        fields: {
          DesiredNumberScheduled: st.desiredNumberScheduled ?? 0,
          CurrentNumberScheduled: st.currentNumberScheduled ?? 0,
          NumberMisscheduled: st.numberMisscheduled ?? 0,
        },
      };
    case "statefulset":
      return {
        fields: {
          DesiredReplicas: spec.replicas ?? 1,
          ServiceName: spec.serviceName ?? "",
          Replicas: st.replicas ?? 0,
          ReadyReplicas: st.readyReplicas ?? 0,
          CurrentReplicas: st.currentReplicas ?? 0,
          UpdatedReplicas: st.updatedReplicas ?? 0,
          CurrentRevision: st.currentRevision ?? "",
          UpdateRevision: st.updateRevision ?? "",
        },
      };
    case "job":
      return {
        fields: {
          Parallelism: spec.parallelism ?? 1,
          Completions: spec.completions ?? null,
          Active: st.active ?? 0,
          Succeeded: st.succeeded ?? 0,
          Failed: st.failed ?? 0,
        },
      };
    case "cronjob":
      return { fields: { Schedule: spec.schedule ?? "", Suspended: spec.suspend === true } };
    case "ingress": {
      const f: Fields = {};
      if (spec.defaultBackend) f.DefaultBackend = spec.defaultBackend;
      if (spec.tls) f.TLS = spec.tls;
      if (spec.rules) f.Rules = spec.rules;
      return { fields: f };
    }
    case "persistentvolume": {
      const f: Fields = {
        Capacity: spec.capacity ?? {},
        VolumeMode: spec.volumeMode ?? "",
        StorageClassName: spec.storageClassName ?? "",
        Status: st.phase ?? "",
        AccessModes: spec.accessModes ?? [],
      };
      if (spec.claimRef?.name) f.ClaimRef = spec.claimRef.name;
      return { fields: f, top: { State: state(st.phase !== "Failed") } };
    }
    case "persistentvolumeclaim":
      return {
        fields: {
          AccessModes: spec.accessModes ?? [],
          VolumeName: spec.volumeName ?? "",
          StorageClassName: spec.storageClassName ?? "",
          VolumeMode: spec.volumeMode ?? "",
          Status: st.phase ?? "",
        },
        top: { State: state(st.phase === "Bound") },
      };
    case "storageclass":
      return { fields: { Provisioner: (o as { provisioner?: string }).provisioner ?? "" } };
    case "configmap":
      return { fields: { Data: Object.keys((o as { data?: object }).data ?? {}) } };
    case "secret":
      // Only the key names: the values never leave the API server's answer.
      return { fields: { Type: (o as { type?: string }).type ?? "", Data: Object.keys((o as { data?: object }).data ?? {}) } };
    default:
      return { fields: {} };
  }
}

/** The graph node of one object. */
export function objectNode(kind: ResourceName, o: KObject, opts: MapOptions): NodeSpec {
  const { fields, top } = kindFields(kind, o);
  let extra: unknown = o;
  if (kind === "pod") {
    // Its containers are nodes of their own (with their spec as their Extra).
    const { containers: _c, ...spec } = o.spec ?? {};
    extra = { ...o, spec };
  }
  if (kind === "secret") {
    // Secrets' values are never copied into the graph.
    const { data: _d, stringData: _s, ...rest } = o;
    extra = rest;
  }
  return node(kind, objectNodeId(opts.cluster, o.metadata.uid), o.metadata.name, { ...baseFields(o), ...fields }, extra, opts, top);
}

export interface ContainerStatus {
  name: string;
  containerID?: string;
  ready?: boolean;
  state?: { running?: object; waiting?: { reason?: string }; terminated?: { reason?: string } };
}

/** The container nodes of a pod (Skydive's container sub-probe), one per spec.containers entry. */
export function containerNodes(pod: KObject, opts: MapOptions): NodeSpec[] {
  const statuses = (pod.status?.containerStatuses as ContainerStatus[] | undefined) ?? [];
  return ((pod.spec?.containers as { name: string; image?: string }[] | undefined) ?? []).map((c) => {
    const f: Fields = { ...baseFields(pod), Pod: pod.metadata.name, Name: c.name, Image: c.image ?? "" };
    // Matched by name (Skydive matched by position, which breaks when the kubelet reorders statuses).
    const s = statuses.find((x) => x.name === c.name);
    const [runtime, id] = s?.containerID?.split("://", 2) ?? [];
    if (runtime && id) {
      f.Runtime = runtime;
      f.ContainerID = id;
    }
    // Not in Skydive: UP while the container runs.
    return node("container", containerNodeId(opts.cluster, pod.metadata.uid, c.name), c.name, f, c, opts, { State: state(!!s?.state?.running) });
  });
}

/** The cluster node, root of the ownership tree. */
export function clusterNode(opts: MapOptions): NodeSpec {
  return node("cluster", clusterNodeId(opts.cluster), opts.cluster, { Name: opts.cluster }, undefined, opts);
}
