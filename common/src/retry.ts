// Retry with exponential backoff and jitter, forever unless told otherwise: used where giving up
// would lose accepted data (a ClickHouse insert, a DLQ produce). The caller logs each failure.
export interface RetryOptions {
  initialMs?: number;
  maxMs?: number;
  /** Give up after this many attempts (default: never). */
  attempts?: number;
  onError?: (err: unknown, attempt: number, waitMs: number) => void;
  /** Stop retrying when this returns true (shutdown). */
  aborted?: () => boolean;
}

export async function retry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const initial = opts.initialMs ?? 100;
  const max = opts.maxMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((opts.attempts !== undefined && attempt >= opts.attempts) || opts.aborted?.()) throw err;
      const wait = Math.min(max, initial * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      opts.onError?.(err, attempt, Math.round(wait));
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
