// The Kubernetes kinds the probe follows, named as Skydive's k8s sub-probes (which are also the graph
// node Types), with the API path each is listed and watched at.

export const RESOURCE_NAMES = [
  "namespace",
  "node",
  "pod",
  "service",
  "endpoints",
  "deployment",
  "replicaset",
  "replicationcontroller",
  "daemonset",
  "statefulset",
  "job",
  "cronjob",
  "ingress",
  "networkpolicy",
  "persistentvolume",
  "persistentvolumeclaim",
  "storageclass",
  "configmap",
  "secret",
] as const;

export type ResourceName = (typeof RESOURCE_NAMES)[number];

/** Secrets and config maps are opt-in: listing secrets reads their data, even if only key names are kept. */
export const DEFAULT_RESOURCES: readonly ResourceName[] = RESOURCE_NAMES.filter((r) => r !== "configmap" && r !== "secret");

export interface ResourceInfo {
  /** API path of the collection, all namespaces (e.g. /apis/apps/v1/deployments). */
  path: string;
  /** Cluster-scoped objects (owned by the cluster node rather than a namespace). */
  clusterScoped: boolean;
}

const core = (plural: string, clusterScoped = false): ResourceInfo => ({ path: `/api/v1/${plural}`, clusterScoped });
const group = (gv: string, plural: string, clusterScoped = false): ResourceInfo => ({ path: `/apis/${gv}/${plural}`, clusterScoped });

export const RESOURCES: Record<ResourceName, ResourceInfo> = {
  namespace: core("namespaces", true),
  node: core("nodes", true),
  pod: core("pods"),
  service: core("services"),
  endpoints: core("endpoints"),
  deployment: group("apps/v1", "deployments"),
  replicaset: group("apps/v1", "replicasets"),
  replicationcontroller: core("replicationcontrollers"),
  daemonset: group("apps/v1", "daemonsets"),
  statefulset: group("apps/v1", "statefulsets"),
  job: group("batch/v1", "jobs"),
  cronjob: group("batch/v1", "cronjobs"),
  ingress: group("networking.k8s.io/v1", "ingresses"),
  networkpolicy: group("networking.k8s.io/v1", "networkpolicies"),
  persistentvolume: core("persistentvolumes", true),
  persistentvolumeclaim: core("persistentvolumeclaims"),
  storageclass: group("storage.k8s.io/v1", "storageclasses", true),
  configmap: core("configmaps"),
  secret: core("secrets"),
};

/** What a node_only probe follows: its own pods (with their containers) and its own node object. */
export const NODE_ONLY_RESOURCES: readonly ResourceName[] = ["pod", "node"];
