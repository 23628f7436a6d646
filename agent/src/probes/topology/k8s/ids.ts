// Node ids of Kubernetes objects: UUIDv5 of the cluster name and the object's uid (Skydive used the uid
// itself). Not of the host, unlike other probes' ids: an object is one thing in the cluster whichever agent
// sees it, so a node_only agent's pod -> netns edge and a cluster-wide agent's service -> pod edge meet at
// the same pod node in the pipeline's graph.
import { uuidv5 } from "../../../graph/ids.js";

export const objectNodeId = (cluster: string, uid: string) => uuidv5("k8s", cluster, uid);
export const containerNodeId = (cluster: string, podUid: string, name: string) => uuidv5("k8s-container", cluster, podUid, name);
export const clusterNodeId = (cluster: string) => uuidv5("k8s-cluster", cluster);
/** Edges between Kubernetes nodes: several relations (and network policy edge kinds) may join the same two nodes. */
export const k8sEdgeId = (parent: string, child: string, ...relation: string[]) => uuidv5("edge", parent, child, ...relation);
