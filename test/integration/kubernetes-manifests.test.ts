// The Kubernetes deployment: the plain manifests (deploy/kubernetes/) and the Helm chart (deploy/helm/skystream)
// rendered by a real helm (`helm template`, `helm lint --strict`) with its default values and with others.
// Every object is validated against the Kubernetes API's own schemas for the oldest version the chart accepts
// and the newest one the schemas know, strictly (an unknown field is an error); the ServiceMonitor against
// Prometheus Operator's. Then what the schemas cannot say: the agent's host access, the cluster agent's lack of
// it, read-only RBAC covering what each k8s topology probe follows (agent/src/probes/topology/k8s/resources.ts),
// the pipeline's replicas and disruption budget, the API's Service and probes, references between objects,
// and the configuration each process would start with — loaded by Skystream's own loader from the
// ConfigMap and the container's SKYSTREAM_* variables ($(VAR) expanded as Kubernetes does). The chart's
// defaults render the plain manifests' objects. No cluster here: what the API server and the kubelet would do beyond their schemas is not run.
// The tools come from test/kubernetes/fetch-tools.sh, which this test runs: missing tools fail it.
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { loadConfig } from "@skystream/common";
import { skystreamConfig, type SkystreamConfig } from "@skystream/pipeline/config";
import { readHtpasswd } from "@skystream/pipeline/api/auth";
import type { K8sConfig } from "@skystream/agent/probes/topology/k8s/config";
import { DEFAULT_RESOURCES, NODE_ONLY_RESOURCES, RESOURCES, type ResourceName } from "@skystream/agent/probes/topology/k8s/resources";
import { CHART_DIR, fetchK8sTools, helm, helmTemplate, plainManifests, toolVersions, validateObjects, type K8sObject } from "../harness/kubernetes.ts";

/** The oldest Kubernetes the chart accepts (Chart.yaml kubeVersion) and the newest whose schemas are here. */
const KUBE_VERSIONS = ["1.30.0", "1.37.0"];
const KUBE = ["--kube-version", KUBE_VERSIONS[0]!];
const HTPASSWD = "alice:$2b$04$mDj2Ej3/nQk65S7miV5uJu3uxb2l9r6uhmcvAD64vRkBdyyy2d9dW\n";
const READ_VERBS = new Set(["get", "list", "watch"]);
/** The API group and resource of a kind the k8s topology probe follows, from the path it lists (resources.ts). */
function apiResource(kind: ResourceName): { group: string; resource: string } {
  const path = RESOURCES[kind].path;
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/([^/]+)$/.exec(path);
  assert.ok(m, `resources.ts: ${kind} is listed at ${path}, not /api/v1/<resource> or /apis/<group>/<version>/<resource>`);
  return { group: m[1] ?? "", resource: m[2]! };
}
/** The kinds a k8s probe with this configuration lists and watches (as probe.ts picks them). */
const followedKinds = (p: K8sConfig) => p.resources.filter((r) => !p.node_only || NODE_ONLY_RESOURCES.includes(r));
const isK8sProbe = (id: string) => /^k8s(\/|$)/.test(id);
/** The k8s probes of an agent's configuration. */
const k8sProbes = (cfg: SkystreamConfig) => Object.entries(cfg.agent.topology.probes).filter(([id]) => isK8sProbe(id)) as [string, K8sConfig][];
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding"]);

let scratch = "";

/** Reads nested fields of a parsed object without a type for each Kubernetes kind. */
function at(obj: unknown, ...path: (string | number)[]): any {
  let v: any = obj;
  for (const k of path) v = v == null ? undefined : v[k];
  return v;
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")}`);
  return o;
}

const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

function assertValid(objects: K8sObject[], what: string) {
  const report = validateObjects(objects, KUBE_VERSIONS);
  const errors = report.results.flatMap((r) => r.errors.map((e) => `${r.kind}/${r.name}: ${e}`));
  assert.deepEqual(errors, [], `${what}: objects the Kubernetes API would refuse`);
  assert.equal(report.results.length, objects.length);
  for (const r of report.results) assert.deepEqual(r.validated, KUBE_VERSIONS, `${what}: ${r.kind}/${r.name} validated for every version`);
}

/** Pod labels that a selector selects. */
function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

const podSpec = (w: K8sObject) => at(w, "spec", "template", "spec");
const container = (w: K8sObject, name: string) => {
  const c = (podSpec(w).containers as any[]).find((x) => x.name === name);
  assert.ok(c, `${w.kind}/${w.metadata.name} has no container ${name}`);
  return c;
};
const portNamed = (c: any, name: string): number => {
  const p = (c.ports as any[] | undefined)?.find((x) => x.name === name);
  assert.ok(p, `container ${c.name} has no port named ${name}`);
  return p.containerPort as number;
};
const mountAt = (c: any, path: string) => (c.volumeMounts as any[]).find((m) => m.mountPath === path);
const volume = (w: K8sObject, name: string) => (podSpec(w).volumes as any[]).find((v) => v.name === name);

/** Kubernetes' expansion of an env value: $(VAR) of a variable defined before it, $$ for $; any other reference stays. */
function expandEnv(value: string, defined: NodeJS.ProcessEnv): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (ref, name?: string) =>
    ref === "$$" ? "$" : name !== undefined && defined[name] !== undefined ? defined[name] : ref,
  );
}

/**
 * The configuration a container would start with: Skystream's loader on the ConfigMap's file and the container's
 * SKYSTREAM_* variables (node name and Secret values stand in; $(VAR) expanded), after checking that
 * SKYSTREAM_CONFIG names the file where the ConfigMap is mounted. An unknown key, in the file or a variable,
 * fails here as it would at start.
 */
function effectiveConfig(objects: K8sObject[], w: K8sObject, containerName: string): SkystreamConfig {
  const c = container(w, containerName);
  const env: NodeJS.ProcessEnv = {};
  for (const e of c.env as any[]) {
    if (e.value !== undefined) env[e.name] = expandEnv(String(e.value), env);
    else if (at(e, "valueFrom", "fieldRef", "fieldPath") === "spec.nodeName") env[e.name] = "node-a";
    else if (at(e, "valueFrom", "secretKeyRef")) env[e.name] = `secret:${e.valueFrom.secretKeyRef.key}`;
    else assert.fail(`${w.metadata.name}/${containerName}: env ${e.name} has no value this test knows`);
  }
  const file = env.SKYSTREAM_CONFIG;
  assert.ok(file, `${w.metadata.name}: SKYSTREAM_CONFIG is set`);
  const dir = file.slice(0, file.lastIndexOf("/"));
  const mount = mountAt(c, dir);
  assert.ok(mount, `${w.metadata.name}: something is mounted at ${dir}`);
  const cmName = at(volume(w, mount.name), "configMap", "name");
  assert.ok(cmName, `${w.metadata.name}: ${dir} is a ConfigMap`);
  const text = at(find(objects, "ConfigMap", cmName), "data", file.slice(dir.length + 1));
  assert.equal(typeof text, "string", `${w.metadata.name}: ConfigMap ${cmName} has ${file.slice(dir.length + 1)}`);
  const local = join(scratch, `${w.metadata.name}-${containerName}.yaml`);
  writeFileSync(local, text);
  return loadConfig(skystreamConfig, { env: { ...env, SKYSTREAM_CONFIG: local } });
}

const portOf = (listen: string) => Number(listen.slice(listen.lastIndexOf(":") + 1));

interface Expect {
  namespace: string;
  /** Prefix of every object's name (the release's full name). */
  prefix: string;
  /** The Secret the pipeline and the API read (the chart's, or one made beside it). */
  secret: string;
  secretInSet: boolean;
  pipelineReplicas: number;
  pdbMaxUnavailable: number;
  groupId: string;
  brokers: string[];
  clickhouseUrl: string;
  apiServicePort: number;
  apiScheme: "HTTP" | "HTTPS";
  agentMetricsPort: number;
  privileged: boolean;
  /** The DaemonSet's topology probes (ids, sorted). */
  agentProbes: string[];
  /** The DaemonSet runs the k8s probe node_only, under the node's name. */
  k8sNodeOnly: boolean;
  /** The cluster agent: its host id and topology probes (ids, sorted); none when absent. */
  clusterAgent?: { hostId: string; probes: string[] };
  dockerSockets: string[];
  tolerations: unknown[];
  rbac: boolean;
  podAnnotations: boolean;
  serviceMonitor: boolean;
}

/** What the schemas cannot say, for one rendering (or the plain manifests). */
function checkDeployment(objects: K8sObject[], x: Expect) {
  const names = new Set(objects.map(key));
  assert.equal(names.size, objects.length, "no object twice");
  for (const o of objects) {
    if (CLUSTER_SCOPED.has(o.kind)) assert.equal(o.metadata.namespace, undefined, `${key(o)} is cluster-scoped`);
    else assert.equal(o.metadata.namespace, x.namespace, `${key(o)} in ${x.namespace}`);
  }
  const agent = find(objects, "DaemonSet", `${x.prefix}-agent`);
  const pipeline = find(objects, "Deployment", `${x.prefix}-pipeline`);
  const api = find(objects, "Deployment", `${x.prefix}-api`);
  const clusterAgent = objects.find((o) => o.kind === "Deployment" && o.metadata.name === `${x.prefix}-cluster-agent`);
  assert.equal(clusterAgent !== undefined, x.clusterAgent !== undefined, `a cluster agent: ${x.clusterAgent !== undefined}`);
  const workloads = [agent, pipeline, api, ...(clusterAgent ? [clusterAgent] : [])];

  // Every workload: its selector selects its own pods only; named ports exist; what it mounts or reads exists.
  for (const w of workloads) {
    const sel = at(w, "spec", "selector", "matchLabels");
    assert.ok(selects(sel, at(w, "spec", "template", "metadata", "labels")), `${key(w)} selects its pods`);
    for (const other of workloads.filter((o) => o !== w))
      assert.ok(!selects(sel, at(other, "spec", "template", "metadata", "labels")), `${key(w)} does not select ${key(other)}'s pods`);
    const spec = podSpec(w);
    assert.ok(names.has(`ServiceAccount/${x.namespace}/${spec.serviceAccountName}`), `${key(w)}: its ServiceAccount exists`);
    for (const c of spec.containers as any[]) {
      assert.ok(!/:latest$|^[^:]*$/.test(c.image), `${key(w)}: a pinned image tag, not ${c.image}`);
      for (const probe of ["readinessProbe", "livenessProbe"]) {
        const port = at(c, probe, "httpGet", "port");
        assert.ok(port !== undefined, `${key(w)}/${c.name}: an HTTP ${probe}`);
        if (typeof port === "string") portNamed(c, port);
      }
      for (const m of c.volumeMounts as any[]) assert.ok(volume(w, m.name), `${key(w)}/${c.name}: volume ${m.name} exists`);
      for (const e of (c.env as any[]).filter((v) => at(v, "valueFrom", "secretKeyRef"))) {
        const ref = e.valueFrom.secretKeyRef;
        assert.equal(ref.name, x.secret, `${key(w)}: ${e.name} from the Secret ${x.secret}`);
        if (x.secretInSet) assert.ok(ref.optional || at(find(objects, "Secret", ref.name), "stringData", ref.key) !== undefined, `Secret has ${ref.key}`);
      }
    }
    for (const v of spec.volumes as any[]) {
      if (v.configMap) assert.ok(names.has(`ConfigMap/${x.namespace}/${v.configMap.name}`), `${key(w)}: ConfigMap ${v.configMap.name} exists`);
      if (v.secret) {
        assert.ok(v.secret.secretName === x.secret || v.name !== "auth", `${key(w)}: htpasswd from ${x.secret}`);
        if (x.secretInSet && v.secret.secretName === x.secret)
          for (const item of v.secret.items ?? [])
            assert.ok(at(find(objects, "Secret", x.secret), "stringData", item.key) !== undefined, `Secret has ${item.key}`);
      }
    }
    const annotations = at(w, "spec", "template", "metadata", "annotations") ?? {};
    const metricsPort = portNamed(container(w, spec.containers[0].name), "metrics");
    if (x.podAnnotations) {
      assert.equal(annotations["prometheus.io/scrape"], "true", `${key(w)}: scraped`);
      assert.equal(annotations["prometheus.io/port"], String(metricsPort), `${key(w)}: scraped on its metrics port`);
      assert.equal(annotations["prometheus.io/path"], "/metrics");
    } else assert.equal(annotations["prometheus.io/scrape"], undefined, `${key(w)}: no scrape annotations`);
  }

  // The agent: the host's network, PIDs and namespaces, every node, root.
  const as = podSpec(agent);
  assert.equal(as.hostNetwork, true);
  assert.equal(as.hostPID, true);
  assert.equal(as.dnsPolicy, "ClusterFirstWithHostNet", "cluster DNS from the host's network");
  assert.deepEqual(as.tolerations, x.tolerations);
  const ac = container(agent, "agent");
  assert.deepEqual(ac.args, ["agent"]);
  assert.equal(ac.securityContext.runAsUser, 0);
  if (x.privileged) assert.equal(ac.securityContext.privileged, true);
  else {
    assert.notEqual(ac.securityContext.privileged, true);
    for (const cap of ["NET_ADMIN", "NET_RAW", "SYS_ADMIN", "SYS_PTRACE"]) assert.ok(ac.securityContext.capabilities.add.includes(cap), `agent has ${cap}`);
  }
  const hostMount = (path: string, type: string, propagation?: string) => {
    const m = mountAt(ac, path);
    assert.ok(m, `agent mounts ${path}`);
    assert.equal(m.readOnly, true, `${path} read-only`);
    assert.equal(m.mountPropagation, propagation, `${path} propagation`);
    assert.deepEqual(volume(agent, m.name).hostPath, { path, type }, `${path} from the host's ${path}`);
  };
  hostMount("/run/netns", "DirectoryOrCreate", "HostToContainer");
  hostMount("/var/run/netns", "DirectoryOrCreate", "HostToContainer");
  hostMount("/var/run/openvswitch", "DirectoryOrCreate");
  for (const socket of x.dockerSockets) hostMount(socket, "Socket");
  const sockets = (as.volumes as any[]).filter((v) => at(v, "hostPath", "type") === "Socket").map((v) => v.hostPath.path);
  assert.deepEqual(sockets.sort(), [...x.dockerSockets].sort(), "no other socket from the host");
  assert.equal(portNamed(ac, "metrics"), x.agentMetricsPort);

  // The configuration each agent starts with (the pipeline's and the API's below).
  const agentCfg = effectiveConfig(objects, agent, "agent");
  const clusterCfg = clusterAgent && effectiveConfig(objects, clusterAgent, "agent");

  // RBAC: the agents' account reads, nothing else; the others have no token.
  const agentSa = find(objects, "ServiceAccount", as.serviceAccountName);
  for (const w of [pipeline, api]) {
    const sa = find(objects, "ServiceAccount", podSpec(w).serviceAccountName);
    assert.equal(sa.automountServiceAccountToken, false, `${key(w)}: no API token`);
    assert.equal(podSpec(w).automountServiceAccountToken, false);
  }
  // The k8s probes that read the API with their pod's account (no kubeconfig or api_url of their own).
  const agents: [K8sObject, SkystreamConfig][] = [[agent, agentCfg]];
  if (clusterAgent && clusterCfg) agents.push([clusterAgent, clusterCfg]);
  const readers = agents.flatMap(([w, cfg]) => k8sProbes(cfg).flatMap(([id, p]) => (p.kubeconfig || p.api_url ? [] : [{ w, id, kinds: followedKinds(p) }])));
  const roles = objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role");
  if (x.rbac) {
    assert.equal(agentSa.automountServiceAccountToken, true);
    assert.equal(roles.length, 1, "one role: the agents'");
    const rules = at(roles[0], "rules") as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    for (const r of rules) {
      assert.ok(
        r.verbs.every((v) => READ_VERBS.has(v)),
        `read-only verbs, got ${r.verbs.join(",")}`,
      );
      assert.ok(![...r.apiGroups, ...r.resources].includes("*"), "no wildcard");
      assert.ok(!r.resources.some((res) => res === "secrets" || res.includes("/")), "no secrets, no subresources (exec, log, proxy)");
    }
    const reads = (kind: ResourceName) => {
      const { group, resource } = apiResource(kind);
      return rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource));
    };
    for (const kind of DEFAULT_RESOURCES) assert.ok(reads(kind), `reads what the k8s probe follows by default: ${kind} (${RESOURCES[kind].path})`);
    const binding = find(objects, "ClusterRoleBinding", roles[0]!.metadata.name);
    assert.deepEqual(at(binding, "roleRef"), { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roles[0]!.metadata.name });
    assert.deepEqual(at(binding, "subjects"), [{ kind: "ServiceAccount", name: agentSa.metadata.name, namespace: x.namespace }]);
    for (const r of readers) {
      const sa = podSpec(r.w).serviceAccountName;
      assert.equal(sa, agentSa.metadata.name, `${key(r.w)}: its ${r.id} probe reads with the account the role is bound to`);
      assert.notEqual(podSpec(r.w).automountServiceAccountToken, false, `${key(r.w)}: its token is mounted`);
      for (const kind of r.kinds) assert.ok(reads(kind), `${key(r.w)}: its ${r.id} probe follows ${kind}, which the role reads`);
    }
  } else {
    assert.equal(roles.length, 0, "rbac.create false: no role");
    assert.equal(objects.filter((o) => o.kind.endsWith("RoleBinding")).length, 0);
    assert.equal(agentSa.automountServiceAccountToken, false);
    assert.deepEqual(
      readers.map((r) => `${key(r.w)} ${r.id}`),
      [],
      "without RBAC no k8s probe reads with the pod's account",
    );
  }

  // The k8s probe: node_only in the DaemonSet, under the node's name; cluster-wide in the cluster agent.
  assert.deepEqual(Object.keys(agentCfg.agent.topology.probes).sort(), x.agentProbes, "the DaemonSet's topology probes");
  const nodeK8s = k8sProbes(agentCfg);
  if (x.k8sNodeOnly) {
    assert.deepEqual(
      nodeK8s.map(([id]) => id),
      ["k8s"],
    );
    const [, p] = nodeK8s[0]!;
    assert.equal(p.node_only, true, "the DaemonSet's k8s probe: its node only");
    assert.equal(p.node_name, agentCfg.agent.host_id, "the node's name from spec.nodeName (the probe's default is the host name)");
    assert.equal(p.node_name, "node-a");
  } else assert.deepEqual(nodeK8s, [], "no k8s probe in the DaemonSet");
  if (clusterAgent && clusterCfg && x.clusterAgent) {
    assert.equal(at(clusterAgent, "spec", "replicas"), 1, "one cluster agent");
    assert.equal(at(clusterAgent, "spec", "strategy", "type"), "Recreate", "never two cluster agents under one host id");
    const cs = podSpec(clusterAgent);
    for (const f of ["hostNetwork", "hostPID", "hostIPC"]) assert.notEqual(cs[f], true, `cluster agent: no ${f}`);
    assert.deepEqual(
      (cs.volumes as any[]).filter((v) => v.hostPath),
      [],
      "cluster agent: nothing from the host",
    );
    assert.equal(cs.securityContext.runAsNonRoot, true);
    assert.equal(cs.securityContext.runAsUser, 10001, "the image's user skystream");
    const cc = container(clusterAgent, "agent");
    assert.deepEqual(cc.args, ["agent"]);
    assert.notEqual(cc.securityContext.privileged, true);
    assert.equal(cc.securityContext.allowPrivilegeEscalation, false);
    assert.equal(cc.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(cc.securityContext.capabilities, { drop: ["ALL"] });
    assert.equal(clusterCfg.agent.host_id, x.clusterAgent.hostId);
    assert.notEqual(clusterCfg.agent.host_id, agentCfg.agent.host_id, "its own host id");
    assert.deepEqual(Object.keys(clusterCfg.agent.topology.probes).sort(), x.clusterAgent.probes);
    assert.ok(Object.keys(clusterCfg.agent.topology.probes).every(isK8sProbe), "the cluster agent: k8s probes only");
    for (const [id, p] of k8sProbes(clusterCfg)) assert.equal(p.node_only, false, `cluster agent ${id}: cluster-wide`);
    assert.deepEqual(clusterCfg.agent.flow.probes, {}, "the cluster agent: no flow probe");
    assert.equal(clusterCfg.agent.captures.enabled, false, "the cluster agent: no capture on demand");
  }

  // The pipeline: replicas of one group, a disruption budget over them, non-root, ready when its checks pass.
  assert.equal(at(pipeline, "spec", "replicas"), x.pipelineReplicas);
  const pc = container(pipeline, "pipeline");
  assert.deepEqual(pc.args, ["pipeline"]);
  assert.deepEqual(at(pc, "readinessProbe", "httpGet"), { path: "/healthz", port: "metrics" });
  const pdb = find(objects, "PodDisruptionBudget", `${x.prefix}-pipeline`);
  assert.equal(at(pdb, "spec", "maxUnavailable"), x.pdbMaxUnavailable);
  assert.deepEqual(at(pdb, "spec", "selector", "matchLabels"), at(pipeline, "spec", "selector", "matchLabels"), "the budget covers the pipeline's pods");
  for (const w of [pipeline, api]) {
    assert.equal(podSpec(w).securityContext.runAsNonRoot, true);
    assert.equal(podSpec(w).securityContext.runAsUser, 10001, "the image's user skystream");
    const c = podSpec(w).containers[0];
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
  }

  // The API: one replica behind a Service whose port leads to the API's listener; ready on an open route.
  assert.equal(at(api, "spec", "replicas"), 1);
  assert.equal(at(api, "spec", "strategy", "type"), "Recreate", "never two API processes (alerts, topology manager)");
  const apic = container(api, "api");
  assert.deepEqual(apic.args, ["api"]);
  assert.deepEqual(at(apic, "readinessProbe", "httpGet"), { path: "/api/openapi.json", port: "http", ...(x.apiScheme === "HTTPS" ? { scheme: "HTTPS" } : {}) });
  const svc = find(objects, "Service", `${x.prefix}-api`);
  const svcPort = (at(svc, "spec", "ports") as any[]).find((p) => p.name === "http");
  assert.equal(svcPort.port, x.apiServicePort);
  assert.equal(portNamed(apic, svcPort.targetPort), 8082);
  for (const w of workloads)
    assert.equal(
      selects(at(svc, "spec", "selector"), at(w, "spec", "template", "metadata", "labels")),
      w === api,
      `the Service selects ${key(w)}: ${w === api}`,
    );

  // The configuration each process starts with.
  const pipelineCfg = effectiveConfig(objects, pipeline, "pipeline");
  const apiCfg = effectiveConfig(objects, api, "api");
  for (const [w, c, cfg] of [
    [agent, ac, agentCfg],
    [pipeline, pc, pipelineCfg],
    [api, apic, apiCfg],
    ...(clusterAgent && clusterCfg ? [[clusterAgent, container(clusterAgent, "agent"), clusterCfg] as const] : []),
  ] as const) {
    assert.deepEqual(cfg.kafka.brokers, x.brokers, `${key(w)}: Kafka`);
    assert.equal(cfg.bus.type, "kafka");
    assert.equal(portOf(cfg.metrics.listen), portNamed(c, "metrics"), `${key(w)}: metrics served on the port declared`);
    assert.match(cfg.metrics.listen, /^0\.0\.0\.0:/, `${key(w)}: metrics reachable by the kubelet and Prometheus`);
  }
  assert.equal(agentCfg.agent.host_id, "node-a", "the agent's host id is the node's name");
  for (const cfg of [pipelineCfg, apiCfg]) {
    assert.equal(cfg.clickhouse.url, x.clickhouseUrl);
    assert.equal(cfg.clickhouse.username, "secret:clickhouse-username");
    assert.equal(cfg.clickhouse.password, "secret:clickhouse-password");
    assert.equal(cfg.pipeline.group_id, x.groupId);
  }
  assert.equal(apiCfg.api.listen, "0.0.0.0:8082", "the API beyond loopback, on its container port");
  assert.equal(apiCfg.api.auth.token_secret, "secret:api-token-secret");
  const htpasswd = apiCfg.api.auth.htpasswd;
  const authMount = mountAt(apic, htpasswd.slice(0, htpasswd.lastIndexOf("/")));
  assert.ok(authMount, `api.auth.htpasswd (${htpasswd}) is in a mounted directory`);
  const authVolume = volume(api, authMount.name);
  assert.deepEqual(authVolume.secret.items, [{ key: "api-htpasswd", path: htpasswd.slice(htpasswd.lastIndexOf("/") + 1) }]);
  for (const socket of x.dockerSockets)
    assert.ok(
      Object.entries(agentCfg.agent.topology.probes).some(([id, p]) => /^docker(\/|$)/.test(id) && (p as { socket: string }).socket === socket),
      `a docker probe reads ${socket}`,
    );

  // Prometheus Operator: a ServiceMonitor over a headless Service of every process's metrics port.
  const monitors = objects.filter((o) => o.kind === "ServiceMonitor");
  assert.equal(monitors.length, x.serviceMonitor ? 1 : 0);
  if (x.serviceMonitor) {
    const sm = monitors[0]!;
    const msvc = objects.filter((o) => o.kind === "Service" && selects(at(sm, "spec", "selector", "matchLabels"), o.metadata.labels));
    assert.equal(msvc.length, 1, "the ServiceMonitor selects one Service");
    assert.equal(at(msvc[0], "spec", "clusterIP"), "None");
    const port = (at(msvc[0], "spec", "ports") as any[]).find((p) => p.name === at(sm, "spec", "endpoints", 0, "port"));
    assert.equal(port.targetPort, "metrics", "each pod's own metrics port");
    for (const w of workloads) assert.ok(selects(at(msvc[0], "spec", "selector"), at(w, "spec", "template", "metadata", "labels")), `scrapes ${key(w)}`);
  }
}

const PLAIN: Expect = {
  namespace: "skystream",
  prefix: "skystream",
  secret: "skystream",
  secretInSet: false,
  pipelineReplicas: 3,
  pdbMaxUnavailable: 1,
  groupId: "skystream-pipeline",
  brokers: ["kafka-bootstrap.kafka.svc.cluster.local:9092"],
  clickhouseUrl: "http://clickhouse.clickhouse.svc.cluster.local:8123",
  apiServicePort: 8082,
  apiScheme: "HTTP",
  agentMetricsPort: 9465,
  privileged: true,
  agentProbes: ["ethtool", "host", "k8s", "netlink", "socketinfo"],
  k8sNodeOnly: true,
  clusterAgent: { hostId: "k8s-cluster", probes: ["k8s"] },
  dockerSockets: [],
  tolerations: [{ operator: "Exists" }],
  rbac: true,
  podAnnotations: true,
  serviceMonitor: false,
};

/** Values far from the defaults: another release and namespace, TLS, Docker sockets, no RBAC, a ServiceMonitor. */
const CUSTOM_VALUES = {
  fullnameOverride: "netobs",
  image: { repository: "registry.example.com/net/skystream", tag: "0.1.1", pullPolicy: "Always" },
  imagePullSecrets: [{ name: "regcred" }],
  kafka: { bootstrap: ["kafka-0.kafka:9093", "kafka-1.kafka:9093"], topics: { partitions: 12, replicationFactor: 2 } },
  clickhouse: { url: "https://ch.db.svc:8443", database: "netobs", username: "skystream", password: "s3cret" },
  auth: { htpasswd: HTPASSWD, tokenSecret: "0123456789abcdef" },
  config: {
    log: { level: "debug" },
    clickhouse: { tls: { enabled: true, ca: "/etc/skystream/tls/ca.crt" } },
    api: { tls: { cert: "/etc/skystream/tls/tls.crt", key: "/etc/skystream/tls/tls.key" }, cors_origins: ["https://grafana.example.com"] },
    agent: { flow: { probes: { sflow: {} } } },
  },
  agent: {
    privileged: false,
    // No RBAC: no k8s probe reading with the pod's account.
    topologyProbes: { ethtool: null, k8s: null, ovsdb: {}, docker: {}, "docker/podman": { socket: "/run/podman/podman.sock" } },
    metricsPort: 19465,
    tolerations: [{ key: "dedicated", operator: "Equal", value: "network", effect: "NoSchedule" }],
    nodeSelector: { "kubernetes.io/os": "linux" },
    priorityClassName: "system-node-critical",
    extraEnv: [{ name: "SKYSTREAM_AGENT_FLOW_BATCH_SIZE", value: "5000" }],
  },
  clusterAgent: { enabled: false },
  pipeline: {
    replicas: 5,
    groupId: "netobs-pipeline",
    podDisruptionBudget: { maxUnavailable: 2 },
    spreadOverNodes: false,
    resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "4Gi" } },
    extraEnv: [{ name: "SKYSTREAM_KAFKA_CLIENT", value: "rdkafka" }],
    extraVolumes: [{ name: "tls", secret: { secretName: "netobs-tls" } }],
    extraVolumeMounts: [{ name: "tls", mountPath: "/etc/skystream/tls", readOnly: true }],
  },
  api: {
    service: { type: "LoadBalancer", port: 443, nodePort: 30443, annotations: { "example.com/lb": "internal" }, loadBalancerSourceRanges: ["10.0.0.0/8"] },
    extraVolumes: [{ name: "tls", secret: { secretName: "netobs-tls" } }],
    extraVolumeMounts: [{ name: "tls", mountPath: "/etc/skystream/tls", readOnly: true }],
  },
  metrics: { podAnnotations: false, serviceMonitor: { enabled: true, interval: "15s", labels: { release: "prometheus" } } },
  rbac: { create: false },
};

const CUSTOM: Expect = {
  namespace: "observability",
  prefix: "netobs",
  secret: "netobs",
  secretInSet: true,
  pipelineReplicas: 5,
  pdbMaxUnavailable: 2,
  groupId: "netobs-pipeline",
  brokers: ["kafka-0.kafka:9093", "kafka-1.kafka:9093"],
  clickhouseUrl: "https://ch.db.svc:8443",
  apiServicePort: 443,
  apiScheme: "HTTPS",
  agentMetricsPort: 19465,
  privileged: false,
  agentProbes: ["docker", "docker/podman", "host", "netlink", "ovsdb", "socketinfo"],
  k8sNodeOnly: false,
  dockerSockets: ["/run/podman/podman.sock", "/var/run/docker.sock"],
  tolerations: CUSTOM_VALUES.agent.tolerations,
  rbac: false,
  podAnnotations: false,
  serviceMonitor: true,
};

/**
 * What `kubectl apply` would compare: helm's own labels and the config checksum set apart, the config file and
 * JSON-valued SKYSTREAM_* variables (an agent's topology probes) parsed.
 */
function comparable(o: K8sObject): unknown {
  const c = structuredClone(o) as any;
  for (const meta of [c.metadata, c.spec?.template?.metadata]) {
    if (!meta) continue;
    if (meta.labels) for (const l of ["helm.sh/chart", "app.kubernetes.io/managed-by"]) delete meta.labels[l];
    if (meta.annotations) delete meta.annotations["checksum/config"];
    if (meta.annotations && Object.keys(meta.annotations).length === 0) delete meta.annotations;
  }
  if (c.kind === "ConfigMap") for (const k of Object.keys(c.data)) c.data[k] = parseYaml(c.data[k]);
  for (const ctr of c.spec?.template?.spec?.containers ?? [])
    for (const e of ctr.env ?? []) if (e.name.startsWith("SKYSTREAM_") && /^\s*\{/.test(e.value ?? "")) e.value = JSON.parse(e.value);
  return c;
}

describe("Kubernetes manifests and Helm chart", { timeout: 25 * 60_000 }, () => {
  let htpasswdFile = "";
  // Missing tools fail every test (rather than cancel them, as a failing hook would).
  let toolsError: Error | undefined;
  before(() => {
    try {
      fetchK8sTools();
    } catch (err) {
      toolsError = err as Error;
    }
    scratch = mkdtempSync(join(tmpdir(), "skystream-k8s-"));
    htpasswdFile = join(scratch, "users.htpasswd");
    writeFileSync(htpasswdFile, HTPASSWD);
  });
  beforeEach(() => {
    if (toolsError) throw toolsError;
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test("tools", (t) => {
    t.diagnostic(toolVersions());
  });

  test("plain manifests: valid for the Kubernetes API, and what they deploy", () => {
    const { files, objects } = plainManifests();
    assert.deepEqual(files, [
      "00-namespace.yaml",
      "10-rbac.yaml",
      "20-config.yaml",
      "30-agent.yaml",
      "35-cluster-agent.yaml",
      "40-pipeline.yaml",
      "50-api.yaml",
    ]);
    assert.equal(objects[0]!.kind, "Namespace", "the namespace first: kubectl apply -f takes the files in order");
    assert.equal(at(objects[0], "metadata", "labels", "pod-security.kubernetes.io/enforce"), "privileged", "Pod Security admits the agent");
    assertValid(objects, "deploy/kubernetes");
    checkDeployment(objects, PLAIN);
  });

  test("helm lint --strict", () => {
    const valuesFile = join(scratch, "custom-values.yaml");
    writeFileSync(valuesFile, stringifyYaml(CUSTOM_VALUES));
    for (const args of [
      ["--set", "existingSecret=skystream"],
      ["--set-file", `auth.htpasswd=${htpasswdFile}`],
      ["-f", valuesFile],
    ]) {
      const r = helm(["lint", "--strict", CHART_DIR, ...KUBE, ...args]);
      assert.equal(r.status, 0, `helm lint ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
    }
  });

  test("chart defaults render the plain manifests' objects", () => {
    const rendered = helmTemplate("skystream", ["--namespace", "skystream", ...KUBE, "--set", "existingSecret=skystream", "--set", "namespace.create=true"]);
    assertValid(rendered, "helm template (defaults)");
    checkDeployment(rendered, PLAIN);
    const plain = plainManifests().objects;
    assert.deepEqual(rendered.map(key).sort(), plain.map(key).sort(), "the same objects");
    for (const o of plain)
      assert.deepEqual(comparable(rendered.find((r) => key(r) === key(o))!), comparable(o), `${key(o)}: the chart and deploy/kubernetes agree`);
    for (const o of rendered) {
      assert.match(o.metadata.labels?.["helm.sh/chart"] ?? "", /^skystream-\d+\.\d+\.\d+$/, `${key(o)}: chart label`);
      assert.equal(o.metadata.labels?.["app.kubernetes.io/managed-by"], "Helm");
    }
  });

  test("chart defaults with the chart's own Secret", () => {
    const rendered = helmTemplate("skystream", ["--namespace", "skystream", ...KUBE, "--set-file", `auth.htpasswd=${htpasswdFile}`]);
    assertValid(rendered, "helm template (auth.htpasswd)");
    assert.ok(!rendered.some((o) => o.kind === "Namespace"), "namespace.create is off by default");
    checkDeployment(rendered, { ...PLAIN, secretInSet: true });
    const secret = find(rendered, "Secret", "skystream");
    const htpasswd = join(scratch, "htpasswd");
    writeFileSync(htpasswd, at(secret, "stringData", "api-htpasswd"));
    assert.deepEqual([...readHtpasswd(htpasswd).keys()], ["alice"], "the API reads the Secret's htpasswd");
    assert.deepEqual(Object.keys(at(secret, "stringData")).sort(), ["api-htpasswd", "api-token-secret", "clickhouse-password", "clickhouse-username"]);
  });

  test("chart with other values: another release, TLS, Docker sockets, capabilities, no RBAC, a ServiceMonitor", () => {
    const valuesFile = join(scratch, "custom-values.yaml");
    writeFileSync(valuesFile, stringifyYaml(CUSTOM_VALUES));
    const rendered = helmTemplate("edge", ["--namespace", "observability", ...KUBE, "-f", valuesFile]);
    assertValid(rendered, "helm template (custom values)");
    checkDeployment(rendered, CUSTOM);
    const agent = find(rendered, "DaemonSet", "netobs-agent");
    const ac = container(agent, "agent");
    assert.equal(ac.image, "registry.example.com/net/skystream:0.1.1");
    assert.equal(ac.imagePullPolicy, "Always");
    assert.deepEqual(podSpec(agent).imagePullSecrets, [{ name: "regcred" }]);
    assert.deepEqual(podSpec(agent).nodeSelector, { "kubernetes.io/os": "linux" });
    assert.equal(podSpec(agent).priorityClassName, "system-node-critical");
    assert.deepEqual(ac.securityContext.seccompProfile, { type: "Unconfined" });
    const agentCfg = effectiveConfig(rendered, agent, "agent");
    assert.ok(!(container(agent, "agent").env as any[]).some((e) => e.name === "NODE_NAME"), "no k8s probe: no node name for it");
    assert.deepEqual(Object.keys(agentCfg.agent.flow.probes), ["sflow"], "config merged over the chart's");
    assert.equal(agentCfg.agent.flow.batch_size, 5000, "extraEnv applies");
    const pipeline = find(rendered, "Deployment", "netobs-pipeline");
    const pipelineCfg = effectiveConfig(rendered, pipeline, "pipeline");
    assert.equal(pipelineCfg.kafka.client, "rdkafka");
    assert.equal(pipelineCfg.kafka.topics.partitions, 12);
    assert.equal(pipelineCfg.kafka.topics.replication_factor, 2);
    assert.equal(pipelineCfg.clickhouse.database, "netobs");
    assert.equal(pipelineCfg.clickhouse.tls.enabled, true);
    assert.equal(pipelineCfg.log.level, "debug");
    assert.equal(podSpec(pipeline).topologySpreadConstraints, undefined);
    // Helm merges a map of values into the default one: the default CPU limit stays unless set to null.
    assert.deepEqual(podSpec(pipeline).containers[0].resources, { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } });
    const api = find(rendered, "Deployment", "netobs-api");
    assert.deepEqual(effectiveConfig(rendered, api, "api").api.cors_origins, ["https://grafana.example.com"]);
    assert.ok(mountAt(container(api, "api"), "/etc/skystream/tls"), "extra mounts");
    const svc = find(rendered, "Service", "netobs-api");
    assert.equal(at(svc, "spec", "type"), "LoadBalancer");
    assert.equal(at(svc, "spec", "ports", 0, "nodePort"), 30443);
    assert.deepEqual(at(svc, "spec", "loadBalancerSourceRanges"), ["10.0.0.0/8"]);
    assert.deepEqual(at(svc, "metadata", "annotations"), { "example.com/lb": "internal" });
    const sm = find(rendered, "ServiceMonitor", "netobs");
    assert.equal(sm.metadata.labels?.release, "prometheus");
    assert.equal(at(sm, "spec", "endpoints", 0, "interval"), "15s");
    const secret = find(rendered, "Secret", "netobs");
    assert.equal(at(secret, "stringData", "clickhouse-password"), "s3cret");
    // A change of configuration changes the pods' template (they roll); the same values give the same checksum.
    const again = helmTemplate("edge", ["--namespace", "observability", ...KUBE, "-f", valuesFile, "--set", "pipeline.groupId=other"]);
    const checksum = (objs: K8sObject[]) => at(find(objs, "Deployment", "netobs-pipeline"), "spec", "template", "metadata", "annotations", "checksum/config");
    assert.match(checksum(rendered), /^[0-9a-f]{64}$/);
    assert.notEqual(checksum(again), checksum(rendered));
    assert.equal(checksum(helmTemplate("edge", ["--namespace", "observability", ...KUBE, "-f", valuesFile])), checksum(rendered));
  });

  test("chart: the k8s probes and the cluster agent, on, off and set", () => {
    const base = ["--namespace", "skystream", ...KUBE, "--set", "existingSecret=skystream"];
    const nodeEnv = (objs: K8sObject[]) => (container(find(objs, "DaemonSet", "skystream-agent"), "agent").env as any[]).map((e) => e.name);
    // The DaemonSet without its k8s probe (null removes a default probe): no node name for it; the cluster agent stays.
    const noNodeProbe = helmTemplate("skystream", [...base, "--set", "agent.topologyProbes.k8s=null"]);
    checkDeployment(noNodeProbe, { ...PLAIN, agentProbes: ["ethtool", "host", "netlink", "socketinfo"], k8sNodeOnly: false });
    assert.ok(!nodeEnv(noNodeProbe).includes("NODE_NAME"));
    // No cluster agent: the DaemonSet's probe goes on.
    const noClusterAgent = helmTemplate("skystream", [...base, "--set", "clusterAgent.enabled=false"]);
    checkDeployment(noClusterAgent, { ...PLAIN, clusterAgent: undefined });
    assert.ok(nodeEnv(noClusterAgent).includes("NODE_NAME"));
    // Neither: RBAC may be off.
    const neither = helmTemplate("skystream", [
      ...base,
      ...["--set", "agent.topologyProbes.k8s=null", "--set", "clusterAgent.enabled=false", "--set", "rbac.create=false"],
    ]);
    checkDeployment(neither, { ...PLAIN, agentProbes: ["ethtool", "host", "netlink", "socketinfo"], k8sNodeOnly: false, clusterAgent: undefined, rbac: false });

    // Probe settings from values and from config, a second cluster agent probe with its own kubeconfig, a ServiceMonitor.
    const valuesFile = join(scratch, "k8s-values.yaml");
    const kinds: ResourceName[] = ["namespace", "node", "pod", "service", "networkpolicy"];
    writeFileSync(
      valuesFile,
      stringifyYaml({
        existingSecret: "skystream",
        config: { agent: { topology: { heartbeat: "5s", probes: { ovsdb: {}, k8s: { cluster_name: "prod" } } } } },
        clusterAgent: {
          hostId: "k8s-prod",
          topologyProbes: { k8s: { cluster_name: "prod", resources: kinds }, "k8s/edge": { kubeconfig: "/etc/skystream/kube/edge.yaml", link_host: false } },
          extraVolumes: [{ name: "kube", secret: { secretName: "edge-kubeconfig" } }],
          extraVolumeMounts: [{ name: "kube", mountPath: "/etc/skystream/kube", readOnly: true }],
        },
        metrics: { serviceMonitor: { enabled: true } },
      }),
    );
    const rendered = helmTemplate("skystream", ["--namespace", "skystream", ...KUBE, "-f", valuesFile]);
    assertValid(rendered, "helm template (k8s probe values)");
    checkDeployment(rendered, {
      ...PLAIN,
      agentProbes: ["ethtool", "host", "k8s", "netlink", "ovsdb", "socketinfo"],
      clusterAgent: { hostId: "k8s-prod", probes: ["k8s", "k8s/edge"] },
      serviceMonitor: true,
    });
    const file = parseYaml(at(find(rendered, "ConfigMap", "skystream-config"), "data", "skystream.yaml"));
    assert.deepEqual(file.agent, { topology: { heartbeat: "5s" } }, "topology probes are each agent's own, not the file's");
    const nodeProbe = effectiveConfig(rendered, find(rendered, "DaemonSet", "skystream-agent"), "agent").agent.topology.probes.k8s as K8sConfig;
    assert.deepEqual([nodeProbe.cluster_name, nodeProbe.node_only, nodeProbe.node_name], ["prod", true, "node-a"], "config merged into agent.topologyProbes");
    const clusterProbes = effectiveConfig(rendered, find(rendered, "Deployment", "skystream-cluster-agent"), "agent").agent.topology.probes;
    const main = clusterProbes.k8s as K8sConfig;
    assert.deepEqual([main.cluster_name, main.resources, main.link_host], ["prod", kinds, false], "values merged into the default cluster probe");
    assert.equal((clusterProbes["k8s/edge"] as K8sConfig).kubeconfig, "/etc/skystream/kube/edge.yaml");
  });

  test("chart refuses what would not run", () => {
    const refused = (args: string[], message: RegExp) => {
      const r = helm(["template", "skystream", CHART_DIR, "--namespace", "skystream", ...args]);
      assert.notEqual(r.status, 0, `helm template ${args.join(" ")} should fail`);
      assert.match(r.stderr, message);
    };
    // No users for an API beyond loopback: it would refuse to start.
    refused(KUBE, /auth\.htpasswd: the API listens beyond loopback/);
    // values.schema.json: wrong types, unknown keys, a broker that is not host:port.
    refused([...KUBE, "--set", "existingSecret=s", "--set", "pipeline.replicas=three"], /\/pipeline\/replicas.*want integer/);
    refused([...KUBE, "--set", "existingSecret=s", "--set", "pipline.replicas=3"], /additional properties 'pipline' not allowed/);
    refused([...KUBE, "--set", "existingSecret=s", "--set", "kafka.bootstrap={kafka}"], /\/kafka\/bootstrap\/0.*does not match pattern/);
    refused([...KUBE, "--set", "existingSecret=s", "--set", "api.service.type=Ingress"], /\/api\/service\/type.*must be one of/);
    // RBAC off while k8s probes would read the API with the agents' account, which then mounts no token.
    refused(
      [...KUBE, "--set", "existingSecret=s", "--set", "rbac.create=false"],
      /rbac\.create is false.* agent\.topologyProbes\.k8s, clusterAgent\.topologyProbes\.k8s read the Kubernetes API/,
    );
    refused([...KUBE, "--set", "existingSecret=s", "--set", "rbac.create=false", "--set", "clusterAgent.enabled=false"], /but agent\.topologyProbes\.k8s read/);
    // The cluster agent runs k8s probes only (helm names the wrong path for a property name: match its message).
    refused([...KUBE, "--set", "existingSecret=s", "--set-json", "clusterAgent.topologyProbes.host={}"], /invalid propertyName 'host'[\s\S]*'\^k8s/);
    // Chart.yaml's kubeVersion.
    refused(["--kube-version", "1.29.0", "--set", "existingSecret=s"], /requires kubeVersion: >=1\.30/);
    // Auth off by configuration: no htpasswd needed.
    const r = helm(["template", "skystream", CHART_DIR, ...KUBE, "--set", "config.api.auth.enabled=off"]);
    assert.equal(r.status, 0, r.stderr);
  });

  test("the schema validation refuses what the API would (it is strict)", () => {
    const { objects } = plainManifests();
    const ds = structuredClone(find(objects, "DaemonSet", "skystream-agent")) as any;
    ds.spec.template.spec.hostNetwrok = true;
    const svc = structuredClone(find(objects, "Service", "skystream-api")) as any;
    svc.spec.ports[0].port = "8082";
    const sm = {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "x" },
      spec: { selector: { matchLabels: { a: "b" } }, endpoints: [{ port: "metrics", pathh: "/metrics" }] },
    };
    const report = validateObjects([ds, svc, sm as K8sObject], KUBE_VERSIONS);
    assert.match(report.results[0]!.errors.join("\n"), /hostNetwrok/);
    assert.match(report.results[1]!.errors.join("\n"), /not of type 'integer'/);
    assert.match(report.results[2]!.errors.join("\n"), /pathh/);
    for (const r of report.results) assert.deepEqual(r.validated, []);
  });
});
