import { z } from "zod";
import { duration } from "@skystream/common";
import { RESOURCE_NAMES, DEFAULT_RESOURCES } from "./resources.js";

export const k8sConfig = z
  .strictObject({
    /** kubeconfig file; empty: in-cluster service account when running in a pod, else $KUBECONFIG, else ~/.kube/config. */
    kubeconfig: z.string().default(""),
    /** kubeconfig context to use; empty: its current-context. */
    context: z.string().default(""),
    /** API server URL, instead of a kubeconfig (e.g. "https://10.0.0.1:6443"). */
    api_url: z.string().default(""),
    /** Bearer token for api_url. */
    token: z.string().default(""),
    /** File holding the bearer token for api_url, re-read as it rotates. */
    token_file: z.string().default(""),
    /** PEM file of the CA that signed the API server's certificate (api_url); empty: the system's CAs. */
    ca_file: z.string().default(""),
    /** PEM client certificate and key for api_url (mutual TLS), instead of a token. */
    client_cert_file: z.string().default(""),
    client_key_file: z.string().default(""),
    /** Skip the check of the API server's certificate (api_url only; to try things out). */
    insecure_skip_tls_verify: z.boolean().default(false),
    /** Name of the cluster node (and ClusterName of every object); empty: the kubeconfig context's cluster, else "cluster". */
    cluster_name: z.string().default(""),
    /** Only this host's part: its pods (spec.nodeName = node_name), their containers and its node; no cluster-wide objects. */
    node_only: z.boolean().default(false),
    /** This host's Kubernetes node name; empty: the host name (kubelet's default). */
    node_name: z.string().default(""),
    /** Kinds to follow (Skydive's sub-probe names); configmap and secret are off by default. */
    resources: z.array(z.enum(RESOURCE_NAMES)).default([...DEFAULT_RESOURCES]),
    /** Keep the whole object under K8s.Extra (as Skydive), without its managedFields. */
    extra: z.boolean().default(true),
    /** Link this host's pods to their network namespace, interface and runtime container (from the netlink and docker probes). */
    link_host: z.boolean().default(true),
    /** Server-side timeout of one watch request; it is then resumed from the last resourceVersion. */
    watch_timeout: duration("5m"),
    /** How long to gather changes before the graph is updated. */
    debounce: duration("50ms"),
  })
  .superRefine((c, ctx) => {
    if (c.api_url && c.kubeconfig) ctx.addIssue({ code: "custom", path: ["api_url"], message: "api_url and kubeconfig exclude each other: set one" });
    if (c.token && c.token_file) ctx.addIssue({ code: "custom", path: ["token"], message: "token and token_file exclude each other: set one" });
    if (Boolean(c.client_cert_file) !== Boolean(c.client_key_file))
      ctx.addIssue({ code: "custom", path: ["client_cert_file"], message: "client_cert_file and client_key_file go together" });
    const apiOnly = ["token", "token_file", "ca_file", "client_cert_file", "insecure_skip_tls_verify"] as const;
    for (const k of apiOnly) if (c[k] && !c.api_url) ctx.addIssue({ code: "custom", path: [k], message: `${k} needs api_url (a kubeconfig carries its own)` });
    if (c.watch_timeout < 1000) ctx.addIssue({ code: "custom", path: ["watch_timeout"], message: "at least 1s" });
  })
  .prefault({});

export type K8sConfig = z.output<typeof k8sConfig>;
