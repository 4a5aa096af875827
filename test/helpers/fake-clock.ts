// A fake clock for scheduler unit tests: time moves only when the test says so, and the test can
// wait until the code under test sleeps (instead of sleeping itself).
import { setImmediate as tick } from 'node:timers/promises';
import type { Clock } from '../../src/scheduler/index.js';

type Sleeper = { t: number; resolve: () => void };

export class FakeClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];

  constructor(start: Date | string) {
    this.#now = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#now);
  }

  sleepUntil(t: Date, signal: AbortSignal): Promise<void> {
    if (t.getTime() <= this.#now || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const s: Sleeper = { t: t.getTime(), resolve };
      this.#sleepers.push(s);
      signal.addEventListener('abort', () => this.#wake(s), { once: true });
    });
  }

  #wake(s: Sleeper): void {
    this.#sleepers = this.#sleepers.filter((x) => x !== s);
    s.resolve();
  }

  /** Waits (bounded) until something sleeps, and returns the earliest wake time. */
  async nextSleep(maxTicks = 10_000): Promise<Date> {
    for (let i = 0; i < maxTicks; i++) {
      const first = [...this.#sleepers].sort((a, b) => a.t - b.t)[0];
      if (first) return new Date(first.t);
      await tick();
    }
    throw new Error(`nothing slept within ${maxTicks} event-loop turns`);
  }

  /** Moves time to `t` and wakes every sleeper due by then. */
  set(t: Date | string): void {
    this.#now = new Date(t).getTime();
    for (const s of this.#sleepers.filter((x) => x.t <= this.#now)) this.#wake(s);
  }
}
