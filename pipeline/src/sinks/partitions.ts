// One key per Kafka topic-partition, for the maps sinks keep per partition.
export const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;
