// Kubernetes objects as the API returns them (only the fields the probe reads are typed), and label
// selector matching with the API's semantics.

export interface OwnerReference {
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
  deletionTimestamp?: string;
}

export interface KObject {
  kind?: string;
  apiVersion?: string;
  metadata: ObjectMeta;
  spec?: Record<string, any>;
  status?: Record<string, any>;
  [key: string]: unknown;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorRequirement[] | null;
}

/** Whether a selector has no requirement at all (`{}`: selects everything). */
export function isEmptySelector(s: LabelSelector | null | undefined): boolean {
  return !s || (Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0);
}

/**
 * metav1.LabelSelector semantics: a missing selector selects nothing, an empty one everything; an
 * unknown operator makes the selector invalid (selects nothing), as LabelSelectorAsSelector does.
 */
export function matchesSelector(labels: Record<string, string> | undefined, s: LabelSelector | null | undefined): boolean {
  if (!s) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of s.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case "In":
        if (!has || !(r.values ?? []).includes(l[r.key]!)) return false;
        break;
      case "NotIn":
        if (has && (r.values ?? []).includes(l[r.key]!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A service's map selector: an empty or missing one selects no pod (Skydive's matchEmpty=false). */
export function matchesMapSelector(labels: Record<string, string> | undefined, sel: Record<string, string> | null | undefined): boolean {
  if (!sel || Object.keys(sel).length === 0) return false;
  return matchesSelector(labels, { matchLabels: sel });
}

export const nsOf = (o: KObject) => o.metadata.namespace ?? "";
