// Committing a sink's offsets after its writes: retried a few times, failures counted and logged. A commit
// that keeps failing usually means the partitions went to another member; the caller decides what that
// means for what it holds (the promise rejects after the last attempt).
import { errorMessage, retry, type Consumer, type Logger, type PartitionOffset } from "@skystream/common";

export function commitOffsets(consumer: Consumer, offsets: PartitionOffset[], errors: { inc(): void }, log: Logger): Promise<void> {
  return retry(() => consumer.commit(offsets), {
    initialMs: 200,
    maxMs: 2000,
    attempts: 5,
    onError: (err, attempt, wait) => {
      errors.inc();
      log.warn({ err: errorMessage(err), attempt, retry_in_ms: wait }, "offset commit failed; retrying");
    },
  });
}
