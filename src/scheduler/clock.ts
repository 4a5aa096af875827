// The scheduler's only source of time, so unit tests drive it with a fake clock.

export type Clock = {
  now(): Date;
  /** Resolves at `t` (immediately when `t` has passed) or when `signal` aborts; never rejects. */
  sleepUntil(t: Date, signal: AbortSignal): Promise<void>;
};

// setTimeout holds at most 2^31-1 ms (about 24.8 days); longer waits sleep in steps.
const MAX_TIMER_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => new Date(),
  async sleepUntil(t, signal) {
    while (!signal.aborted) {
      const ms = t.getTime() - Date.now();
      if (ms <= 0) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
        signal.addEventListener('abort', done, { once: true });
      });
    }
  },
};
