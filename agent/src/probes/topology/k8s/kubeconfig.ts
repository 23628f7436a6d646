// Where the API server is and how to authenticate, as kubectl and client-go find it: the probe's own
// api_url (+ token or client certificate), an explicit kubeconfig, the pod's service account (in-cluster),
// $KUBECONFIG, ~/.kube/config. Kubeconfig users may carry a token, a token file, a client certificate,
// basic auth or an exec credential plugin (as EKS and GKE use). Nothing here talks to the API server.
import { execFile } from "node:child_process";
import { readFileSync, existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, resolve } from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { SkystreamError } from "@skystream/common";
import type { K8sConfig } from "./config.js";

const run = promisify(execFile);

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** How to reach one API server: its URL, TLS material, and the Authorization header (asked before each request). */
export interface ApiEndpoint {
  server: URL;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
  /** Value of the Authorization header, if any; may read a rotated token file or run an exec plugin. */
  authorization(): Promise<string | undefined>;
  /** The kubeconfig context's cluster name, when there is one (Skydive's default cluster name). */
  clusterName?: string;
  /** Where this came from, for the start log line. */
  source: string;
}

interface KubeconfigFile {
  "current-context"?: string;
  contexts?: { name: string; context: { cluster: string; user?: string } }[];
  clusters?: { name: string; cluster: Record<string, any> }[];
  users?: { name: string; user: Record<string, any> }[];
}

const fail = (msg: string, cause?: unknown) => new SkystreamError("SKY_ERR_K8S_CONFIG", msg, cause ? { cause } : undefined);

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw fail(`${what}: cannot read ${path}: ${(err as Error).message}`, err);
  }
}

/** A token file re-read at most every 10 s: projected service account tokens rotate under a running pod. */
function tokenFileReader(path: string): () => Promise<string> {
  let cached = "";
  let at = 0;
  return async () => {
    if (Date.now() - at > 10_000) {
      cached = readFile(path, "token file").toString("utf8").trim();
      at = Date.now();
    }
    return `Bearer ${cached}`;
  };
}

/** Resolves the configured way of reaching the API server; throws SKY_ERR_K8S_CONFIG naming what is missing. */
export function resolveEndpoint(cfg: K8sConfig, env: NodeJS.ProcessEnv = process.env): ApiEndpoint {
  if (cfg.api_url) return fromApiUrl(cfg);
  if (cfg.kubeconfig) return fromKubeconfig(cfg.kubeconfig, cfg.context);
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(`${SERVICE_ACCOUNT_DIR}/token`)) return inCluster(env);
  const fromEnv = env.KUBECONFIG?.split(":").find((p) => p && existsSync(p));
  if (fromEnv) return fromKubeconfig(fromEnv, cfg.context);
  const home = `${homedir()}/.kube/config`;
  if (existsSync(home)) return fromKubeconfig(home, cfg.context);
  throw fail(
    'no Kubernetes API server configured: not in a pod (no KUBERNETES_SERVICE_HOST and service account token), no $KUBECONFIG, no ~/.kube/config; set "kubeconfig" or "api_url" in the k8s probe config',
  );
}

function fromApiUrl(cfg: K8sConfig): ApiEndpoint {
  let server: URL;
  try {
    server = new URL(cfg.api_url);
  } catch (err) {
    throw fail(`api_url: not a URL: ${JSON.stringify(cfg.api_url)}`, err);
  }
  const staticToken = cfg.token;
  const fileToken = cfg.token_file ? tokenFileReader(cfg.token_file) : undefined;
  return {
    server,
    ca: cfg.ca_file ? readFile(cfg.ca_file, "ca_file") : undefined,
    cert: cfg.client_cert_file ? readFile(cfg.client_cert_file, "client_cert_file") : undefined,
    key: cfg.client_key_file ? readFile(cfg.client_key_file, "client_key_file") : undefined,
    rejectUnauthorized: !cfg.insecure_skip_tls_verify,
    authorization: async () => (fileToken ? fileToken() : staticToken ? `Bearer ${staticToken}` : undefined),
    source: `api_url ${server.origin}`,
  };
}

function inCluster(env: NodeJS.ProcessEnv): ApiEndpoint {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const server = new URL(`https://${host.includes(":") ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT}`);
  return {
    server,
    ca: readFile(`${SERVICE_ACCOUNT_DIR}/ca.crt`, "in-cluster CA"),
    rejectUnauthorized: true,
    authorization: tokenFileReader(`${SERVICE_ACCOUNT_DIR}/token`),
    source: "in-cluster service account",
  };
}

/** PEM bytes from a kubeconfig's `<name>-data` (base64) or `<name>` (file path, relative to the kubeconfig). */
function pem(obj: Record<string, any>, name: string, base: string, where: string): Buffer | undefined {
  const data = obj[`${name}-data`];
  if (typeof data === "string" && data) return Buffer.from(data, "base64");
  const file = obj[name];
  if (typeof file === "string" && file) return readFile(isAbsolute(file) ? file : resolve(base, file), `${where}.${name}`);
  return undefined;
}

export function fromKubeconfig(path: string, contextName = ""): ApiEndpoint {
  let doc: KubeconfigFile;
  try {
    doc = (parseYaml(readFile(path, "kubeconfig").toString("utf8")) ?? {}) as KubeconfigFile;
  } catch (err) {
    if (err instanceof SkystreamError) throw err;
    throw fail(`kubeconfig ${path}: not valid YAML: ${(err as Error).message}`, err);
  }
  const base = dirname(path);
  const ctxName = contextName || doc["current-context"] || "";
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx)
    throw fail(`kubeconfig ${path}: context ${JSON.stringify(ctxName)} not found (contexts: ${(doc.contexts ?? []).map((c) => c.name).join(", ") || "none"})`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== "string") throw fail(`kubeconfig ${path}: cluster ${JSON.stringify(ctx.cluster)} has no server`);
  const user = (ctx.user ? doc.users?.find((u) => u.name === ctx.user)?.user : undefined) ?? {};
  const where = `kubeconfig ${path} user ${JSON.stringify(ctx.user ?? "")}`;
  let authorization: () => Promise<string | undefined> = async () => undefined;
  let cert = pem(user, "client-certificate", base, where);
  let key = pem(user, "client-key", base, where);
  if (typeof user.token === "string" && user.token) {
    const t = user.token;
    authorization = async () => `Bearer ${t}`;
  } else if (typeof user.tokenFile === "string" && user.tokenFile) {
    authorization = tokenFileReader(isAbsolute(user.tokenFile) ? user.tokenFile : resolve(base, user.tokenFile));
  } else if (typeof user.username === "string" && user.username) {
    const basic = Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64");
    authorization = async () => `Basic ${basic}`;
  } else if (user.exec && typeof user.exec.command === "string") {
    // Only token-returning plugins (EKS, GKE, AKS's kubelogin): a plugin handing out client certificates
    // would need a new TLS context per credential.
    const plugin = execPlugin(user.exec, base, where);
    authorization = async () => {
      const c = await plugin();
      return c.token ? `Bearer ${c.token}` : undefined;
    };
  }
  if (Boolean(cert) !== Boolean(key)) {
    cert = undefined;
    key = undefined;
  }
  return {
    server: new URL(cluster.server),
    ca: pem(cluster, "certificate-authority", base, `kubeconfig ${path} cluster ${JSON.stringify(ctx.cluster)}`),
    cert,
    key,
    servername: typeof cluster["tls-server-name"] === "string" ? cluster["tls-server-name"] : undefined,
    rejectUnauthorized: cluster["insecure-skip-tls-verify"] !== true,
    authorization,
    clusterName: ctx.cluster,
    source: `kubeconfig ${path} context ${JSON.stringify(ctxName)}`,
  };
}

interface ExecCredential {
  token?: string;
  expiry: number;
}

/** client-go's exec credential plugin protocol: run the command, read ExecCredential.status; cache until it expires. */
function execPlugin(exec: Record<string, any>, base: string, where: string): () => Promise<ExecCredential> {
  let cached: ExecCredential | undefined;
  const command: string = exec.command.includes("/") && !isAbsolute(exec.command) ? resolve(base, exec.command) : exec.command;
  const args: string[] = Array.isArray(exec.args) ? exec.args.map(String) : [];
  const env = { ...process.env };
  for (const e of Array.isArray(exec.env) ? exec.env : []) if (e && typeof e.name === "string") env[e.name] = String(e.value ?? "");
  env.KUBERNETES_EXEC_INFO = JSON.stringify({
    apiVersion: exec.apiVersion ?? "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    spec: { interactive: false },
  });
  return async () => {
    if (cached && cached.expiry - 60_000 > Date.now()) return cached;
    let out: string;
    try {
      out = (await run(command, args, { env, timeout: 30_000, maxBuffer: 1 << 20 })).stdout;
    } catch (err) {
      throw fail(`${where}: exec credential plugin ${command} failed: ${(err as Error).message}`, err);
    }
    const status = (JSON.parse(out) as { status?: { token?: string; expirationTimestamp?: string } }).status ?? {};
    const expiry = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : Infinity;
    cached = { token: status.token, expiry };
    return cached;
  };
}
