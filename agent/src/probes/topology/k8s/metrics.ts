// Counters of the k8s probe, shared by its instances (labelled by probe id and kind).
import { Counter, sharedMetric, type MetricsRegistry } from "@skystream/common";

export interface K8sMetrics {
  lists: Counter<"probe" | "resource">;
  relists: Counter<"probe" | "resource" | "reason">;
  events: Counter<"probe" | "resource" | "type">;
  errors: Counter<"probe" | "resource">;
}

export function k8sMetrics(registry: MetricsRegistry): K8sMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    sharedMetric(registry, name, () => new Counter<L>({ name, help, labelNames, registers: [registry] }));
  return {
    lists: counter("skystream_agent_k8s_lists_total", "Full lists of a Kubernetes kind (start, and after 410 Gone)", ["probe", "resource"]),
    relists: counter("skystream_agent_k8s_relists_total", "Lists again because the watch's resourceVersion expired", ["probe", "resource", "reason"]),
    events: counter("skystream_agent_k8s_watch_events_total", "Watch events received, by type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR)", [
      "probe",
      "resource",
      "type",
    ]),
    errors: counter("skystream_agent_k8s_api_errors_total", "Failed list or watch requests (retried with backoff)", ["probe", "resource"]),
  };
}
