// Runs an async task every interval, never two at once (a tick that finds the previous run still going
// is skipped), and stops by waiting for the run in progress.
export interface Periodic {
  stop(): Promise<void>;
}

/** `now`: also start a run at once (not awaited). */
export function every(ms: number, task: () => Promise<void>, opts: { now?: boolean } = {}): Periodic {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= task().finally(() => (running = undefined));
  };
  if (opts.now) run();
  const timer = setInterval(run, ms);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
