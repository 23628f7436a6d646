import { z } from "zod";
import { TOPICS } from "@skystream/schemas";
import { duration } from "@skystream/common";

export const clickhouseFlowsConfig = z
  .strictObject({
    /** Topic of FlowRecords to consume. */
    topic: z.string().min(1).default(TOPICS.flows),
    /** Rows per insert: ClickHouse wants few large inserts (10k-100k rows). */
    batch_size: z.number().int().min(1).max(1_000_000).default(50_000),
    /** Longest a row waits before its batch is inserted. */
    batch_timeout: duration("5s"),
    /** Avro files per insert, parsed in parallel by the engine (about its cores). */
    parse_parallelism: z.number().int().min(1).max(64).default(2),
    /** Most rows buffered before consumption pauses for the insert. */
    max_buffered_rows: z.number().int().min(1).default(200_000),
    /** Flow enrichment from the topology, as of each flow's time. */
    enrichment: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Where enriched flows are also published for users' own consumers; empty: not published. */
        topic: z.string().default(TOPICS.flowsEnriched),
        /** The topology topic followed for the graph. */
        topology_topic: z.string().min(1).default(TOPICS.topology),
        /** History of the graph kept in memory: flows older than this are enriched with what is left. */
        window: duration("15m"),
        /** Sockets are polled: a socket seen this close to a flow's period counts for it. */
        socket_slack: duration("5s"),
        /** An origin silent this long is retired from the graph here (as clickhouse_topology.retire_after). */
        retire_after: duration("60s"),
        /**
         * Longest a batch waits for the topology of its flows' hosts to be known up to the flows' last packet
         * plus topology_margin (the sockets a flow's processes had reach the graph a little after the flow
         * may): 0 never waits.
         */
        topology_wait: duration("10s"),
        /** How far past a flow's last packet its host's topology must be known (about two socket polls). */
        topology_margin: duration("1s"),
        /** Longest the sink waits at start for the graph to catch up before it reads flows. */
        ready_timeout: duration("60s"),
      })
      .prefault({}),
  })
  .prefault({});

export type ClickhouseFlowsConfig = z.output<typeof clickhouseFlowsConfig>;
