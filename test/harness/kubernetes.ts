// The Kubernetes deployment's tools, for test/integration/kubernetes-manifests.test.ts: helm (built from its Go
// module) and a Python venv with the Kubernetes API's JSON schemas (kubernetes-validate) and Prometheus
// Operator's ServiceMonitor model, installed by test/kubernetes/fetch-tools.sh into test/.venv/k8s.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const MANIFESTS_DIR = `${ROOT}deploy/kubernetes`;
export const CHART_DIR = `${ROOT}deploy/helm/skystream`;
const TOOLS = `${ROOT}test/.venv/k8s`;
export const HELM = `${TOOLS}/bin/helm`;
const PYTHON = `${TOOLS}/bin/python`;
const VALIDATOR = `${ROOT}test/harness/k8s_validate.py`;

/** A Kubernetes object, as parsed from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], input?: string, timeoutMs = 120_000): RunResult {
  const r = spawnSync(file, args, { encoding: "utf8", input, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) return { status: null, stdout: r.stdout ?? "", stderr: `${r.error.message}\n${r.stderr ?? ""}` };
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs test/kubernetes/fetch-tools.sh (idempotent; building helm takes minutes the first time). Throws on failure. */
export function fetchK8sTools(): string {
  const r = run("bash", [`${ROOT}test/kubernetes/fetch-tools.sh`], undefined, 20 * 60_000);
  if (r.status !== 0) throw new Error(`test/kubernetes/fetch-tools.sh failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export function helm(args: string[]): RunResult {
  return run(HELM, args);
}

/** The objects of a multi-document YAML text (empty documents dropped); a YAML error throws. */
export function parseObjects(text: string, where: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) out.push(value);
  }
  return out;
}

/** The objects of deploy/kubernetes/*.yaml, in file order (the order `kubectl apply -f` takes). */
export function plainManifests(): { files: string[]; objects: K8sObject[] } {
  const files = readdirSync(MANIFESTS_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
  return { files, objects: files.flatMap((f) => parseObjects(readFileSync(`${MANIFESTS_DIR}/${f}`, "utf8"), f)) };
}

/** `helm template RELEASE CHART` with these arguments; throws with helm's message when it fails. */
export function helmTemplate(release: string, args: string[]): K8sObject[] {
  const r = helm(["template", release, CHART_DIR, ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return parseObjects(r.stdout, `helm template ${release}`);
}

export interface Validation {
  kubernetes_validate: string;
  results: { kind: string; name: string; validated: string[]; errors: string[] }[];
}

/** Validates every object against the API's schemas of each Kubernetes version, strictly (k8s_validate.py). */
export function validateObjects(objects: K8sObject[], versions: string[]): Validation {
  const r = run(PYTHON, [VALIDATOR, ...versions], JSON.stringify(objects));
  if (r.status !== 0) throw new Error(`k8s_validate.py failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as Validation;
}

/** `helm version --short`, and the versions of the Python packages the validator uses. */
export function toolVersions(): string {
  const h = helm(["version", "--short"]).stdout.trim();
  const py = run(PYTHON, ["-m", "pip", "--disable-pip-version-check", "list", "--format=freeze"]).stdout;
  const pkgs = py
    .split("\n")
    .filter((l) => /^(kubernetes-validate|cloudcoil|jsonschema)[=.]/i.test(l))
    .join(", ");
  return `helm ${h}; ${pkgs}`;
}
