// Pure schedule math: which fires are due between the last handled fire and now, and what to do
// with each (fire, or record as skipped and why). No I/O, so unit tests cover every policy with
// plain dates.
import type { CronClock, Schedule } from '../wire/index.js';

/**
 * A fire handled within this long after its time is on time; later it was missed (no scheduler
 * ran, or the process was stalled) and follows the schedule's `catch_up` policy.
 */
export const ON_TIME_MS = 30_000;

/** Skipped fires are listed individually in a receipt up to this many; the rest are counted. */
export const MAX_LISTED_SKIPS = 20;

export type SkipReason =
  | 'frozen'
  | 'catch_up_none'
  | 'catch_up_latest'
  | 'outside_catch_up_window'
  | 'job_revoked'
  | 'job_missing'
  /** The schedule's params no longer validate against the job's declarations. */
  | 'params_invalid'
  /** The job's script object or a package is not stored (docs/manifests.md). */
  | 'object_missing';

export type FireDecision =
  | { kind: 'fire'; fireAt: Date; catchUp: boolean }
  | {
      kind: 'skip';
      reason: SkipReason;
      /** First and last skipped fire time, and how many (capped at MAX_PLANNED_FIRES). */
      from: Date;
      to: Date;
      count: number;
      /** The first MAX_LISTED_SKIPS fire times. */
      fireAts: Date[];
    };

/** Deterministic exec id of a fire: `s-<scheduleId>-<yyyymmddThhmmssZ>` (a subject token). */
export function fireExecId(scheduleId: string, fireAt: Date): string {
  const iso = fireAt.toISOString(); // 2026-03-29T01:00:00.000Z
  return `s-${scheduleId}-${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** The next fire strictly after `after` inside the schedule's active window, or null. */
export function nextFire(schedule: Pick<Schedule, 'active'>, cron: CronClock, after: Date): Date | null {
  const from = schedule.active.from ? Date.parse(schedule.active.from) : null;
  const start = from !== null && after.getTime() < from ? new Date(from - 1) : after;
  const next = cron.nextAfter(start);
  if (next === null) return null;
  if (schedule.active.until && next.getTime() >= Date.parse(schedule.active.until)) return null;
  return next;
}

function skip(reason: SkipReason, fires: readonly Date[]): FireDecision {
  return {
    kind: 'skip',
    reason,
    from: fires[0]!,
    to: fires.at(-1)!,
    count: fires.length,
    fireAts: fires.slice(0, MAX_LISTED_SKIPS),
  };
}

/** Most fires one plan enumerates inside the catch-up window; older ones are reported as a range. */
export const MAX_PLANNED_FIRES = 10_000;

/**
 * The fires in (cursor, now] and what to do with each, in fire order:
 * - fires older than `now - catch_up.window` are skipped (`outside_catch_up_window`, one record);
 * - fires later than ON_TIME_MS are missed: `all` fires each, `latest` fires the newest unless an
 *   on-time fire follows (the rest `catch_up_latest`), `none` skips them (`catch_up_none`);
 * - on-time fires fire;
 * - while `frozen`, every fire is skipped (`frozen`) instead.
 */
export function planDueFires(
  schedule: Pick<Schedule, 'active' | 'catchUp'>,
  cron: CronClock,
  cursor: Date,
  now: Date,
  frozen: boolean,
  onTimeMs: number = ON_TIME_MS,
): FireDecision[] {
  const windowStart = now.getTime() - schedule.catchUp.windowMs;
  const out: FireDecision[] = [];
  let after = cursor;
  // Fires before the window: only their range matters (there may be very many).
  const first = nextFire(schedule, cron, after);
  if (first === null || first.getTime() > now.getTime()) return [];
  if (first.getTime() < windowStart) {
    let last = first;
    let count = 1;
    const listed = [first];
    for (
      let f = nextFire(schedule, cron, first);
      f !== null && f.getTime() < windowStart && f.getTime() <= now.getTime();
      f = nextFire(schedule, cron, f)
    ) {
      last = f;
      if (++count <= MAX_LISTED_SKIPS) listed.push(f);
      if (count >= MAX_PLANNED_FIRES) break;
    }
    out.push({
      kind: 'skip',
      reason: frozen ? 'frozen' : 'outside_catch_up_window',
      from: first,
      to: last,
      count,
      fireAts: listed,
    });
    after = last;
  }
  const missed: Date[] = [];
  const onTime: Date[] = [];
  for (
    let f = nextFire(schedule, cron, after);
    f !== null && f.getTime() <= now.getTime();
    f = nextFire(schedule, cron, f)
  ) {
    if (now.getTime() - f.getTime() > onTimeMs) missed.push(f);
    else onTime.push(f);
    if (missed.length + onTime.length >= MAX_PLANNED_FIRES) break;
  }
  if (frozen) {
    const all = [...missed, ...onTime];
    return all.length > 0 ? [...out, skip('frozen', all)] : out;
  }
  if (missed.length > 0) {
    switch (schedule.catchUp.policy) {
      case 'all':
        out.push(...missed.map((fireAt) => ({ kind: 'fire' as const, fireAt, catchUp: true })));
        break;
      case 'latest':
        if (onTime.length > 0) out.push(skip('catch_up_latest', missed));
        else {
          if (missed.length > 1) out.push(skip('catch_up_latest', missed.slice(0, -1)));
          out.push({ kind: 'fire', fireAt: missed.at(-1)!, catchUp: true });
        }
        break;
      case 'none':
        out.push(skip('catch_up_none', missed));
        break;
      default:
        return unreachable(schedule.catchUp.policy);
    }
  }
  out.push(...onTime.map((fireAt) => ({ kind: 'fire' as const, fireAt, catchUp: false })));
  return out;
}

/** The last fire time a list of decisions covers (what the shared mark moves to). */
export function lastCovered(decisions: readonly FireDecision[]): Date | null {
  const d = decisions.at(-1);
  if (!d) return null;
  return d.kind === 'fire' ? d.fireAt : d.to;
}

function unreachable(value: never): never {
  throw new Error(`unhandled catch-up policy ${String(value)}`);
}
