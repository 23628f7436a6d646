// Topic names are part of the public contract: skystream.<what>.v<major>.
export const TOPICS = {
  flows: "skystream.flows.v1",
  flowsEnriched: "skystream.flows.enriched.v1",
  topology: "skystream.topology.v1",
  control: "skystream.control.v1",
  dlq: "skystream.dlq",
} as const;

/** Headers set on every dead-letter record. */
export const DLQ_HEADERS = {
  reason: "skystream.dlq.reason",
  error: "skystream.dlq.error",
  topic: "skystream.dlq.source.topic",
  partition: "skystream.dlq.source.partition",
  offset: "skystream.dlq.source.offset",
  stage: "skystream.dlq.stage",
} as const;
