// The loop of one enabled schedule: wake at each fire, decide (fire-plan.ts), act through the
// injected functions, move the shared mark forward, sleep until the next fire. Its dependencies
// are functions, so unit tests run it with a fake clock and no NATS.
import { cronClock, parseCron, type Schedule } from '../wire/index.js';
import type { Clock } from './clock.js';
import { lastCovered, nextFire, planDueFires, type FireDecision } from './fire-plan.js';

/** One revision of a schedule as the runner needs it. */
export type RunnerSchedule = { id: string; schedule: Schedule; revision: number; storedAt: string };

export type SkipDecision = Extract<FireDecision, { kind: 'skip' }>;

export type RunnerDeps = {
  clock: Clock;
  /** A fire handled later than this after its time was missed (catch_up applies). Default ON_TIME_MS (30 s). */
  onTimeMs?: number;
  /** True while the fleet-wide freeze holds at `at`. */
  frozen: (at: Date) => boolean;
  /** The shared mark: the latest fire handled by any replica. */
  lastFire: (scheduleId: string) => Promise<Date | null>;
  recordFire: (scheduleId: string, at: Date) => Promise<void>;
  /** Starts the execution of one fire (or records why it cannot run). */
  fire: (s: RunnerSchedule, fireAt: Date, opts: { catchUp: boolean; now: Date }) => Promise<void>;
  /** Records skipped fires (an audit receipt). */
  skip: (s: RunnerSchedule, decision: SkipDecision) => Promise<void>;
  /** Reports an error of one iteration; the loop retries with backoff. */
  onError: (s: RunnerSchedule, err: unknown) => void;
};

const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** The latest time a Date can hold. */
const END_OF_TIME = new Date(8.64e15);

/**
 * Runs until `signal` aborts. Fires since the later of the shared mark and the time this
 * revision was stored are due (a change to a schedule starts its clock again: fires missed
 * before the change belonged to the old definition). Never rejects.
 */
export async function runSchedule(s: RunnerSchedule, deps: RunnerDeps, signal: AbortSignal): Promise<void> {
  const cron = cronClock(parseCron(s.schedule.cron), s.schedule.timezone);
  let cursor = new Date(s.storedAt);
  let backoffMs = BACKOFF_MIN_MS;
  while (!signal.aborted) {
    let now = deps.clock.now();
    try {
      // Another replica may have handled fires meanwhile: never handle them again.
      const shared = await deps.lastFire(s.id);
      if (shared && shared.getTime() > cursor.getTime()) cursor = shared;
      now = deps.clock.now();
      const decisions = planDueFires(s.schedule, cron, cursor, now, deps.frozen(now), deps.onTimeMs);
      for (const d of decisions) {
        if (signal.aborted) return;
        if (d.kind === 'fire') await deps.fire(s, d.fireAt, { catchUp: d.catchUp, now });
        else await deps.skip(s, d);
        const covered = lastCovered([d])!;
        await deps.recordFire(s.id, covered);
        cursor = covered;
      }
      backoffMs = BACKOFF_MIN_MS;
    } catch (err) {
      // Not advanced: the fire is retried, and follows catch_up if it is late by then.
      deps.onError(s, err);
      await deps.clock.sleepUntil(new Date(now.getTime() + backoffMs), signal);
      backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
      continue;
    }
    const next = nextFire(s.schedule, cron, new Date(Math.max(cursor.getTime(), now.getTime())));
    // Past `active.until` there is nothing more to do: sleep until stopped (or replaced).
    await deps.clock.sleepUntil(next ?? END_OF_TIME, signal);
  }
}
