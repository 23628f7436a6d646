// Every sink the pipeline can run. Adding one: a folder under sinks/ and a line here.
import { ComponentRegistry } from "@skystream/common";
import { clickhouseFlows } from "./clickhouse-flows/index.js";
import { clickhouseTopology } from "./clickhouse-topology/index.js";
import type { SinkFactory } from "./types.js";

export const sinks = new ComponentRegistry<SinkFactory>("sink", [clickhouseFlows, clickhouseTopology]);
