// Upcoming fire times of a schedule, for previews and the dashboard. The same rule as the
// scheduler's nextFire (the active window bounds the cron), computed from the wire's cron clock.
import { cronClock, formatInZone, parseCron, type Schedule } from '../wire/index.js';

export function upcomingFires(s: Schedule, after: Date, count: number): Date[] {
  const cron = cronClock(parseCron(s.cron), s.timezone);
  const from = s.active.from ? Date.parse(s.active.from) : null;
  const until = s.active.until ? Date.parse(s.active.until) : null;
  const out: Date[] = [];
  let t = from !== null && after.getTime() < from ? new Date(from - 1) : after;
  while (out.length < count) {
    const next = cron.nextAfter(t);
    if (next === null || (until !== null && next.getTime() >= until)) break;
    out.push(next);
    t = next;
  }
  return out;
}

export const fireRow = (t: Date, zone: string) => ({ utc: t.toISOString(), local: formatInZone(t, zone) });
