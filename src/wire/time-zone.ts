/**
 * IANA time zones through the runtime's Intl data: validation with "did you mean", wall-clock
 * rendering of an instant in a zone, and the instant of a local wall-clock time (for `active`
 * dates of schedules).
 */
import { suggest } from './suggest.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows `name` as a time zone (`UTC`, `Europe/Berlin`, ...). */
export function isTimeZone(name: string): boolean {
  if (name.trim() === '' || name !== name.trim()) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false; // RangeError: Invalid time zone specified
  }
}

/** The known zone closest to a misspelt one, for "did you mean". */
export function suggestTimeZone(name: string): string | undefined {
  return suggest(name, ['UTC', ...Intl.supportedValuesOf('timeZone')]);
}

type WallClock = {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  zone: string;
};

/** The wall-clock fields of `instant` in `timeZone`, and the zone's short name (`CEST`, `GMT+2`). */
export function wallClock(instant: Date, timeZone: string): WallClock {
  const parts = formatter(timeZone).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')),
    minute: Number(get('minute')),
    second: Number(get('second')),
    zone: get('timeZoneName'),
  };
}

/** Offset of `timeZone` from UTC at `instant`, in milliseconds (Berlin in summer: +7_200_000). */
export function zoneOffsetMs(instant: Date, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2026-03-29 03:00:00 +02:00 (GMT+2)`: an instant as people in `timeZone` read it. */
export function formatInZone(instant: Date, timeZone: string): string {
  const w = wallClock(instant, timeZone);
  const off = zoneOffsetMs(instant, timeZone) / 60_000;
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return (
    `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)} ` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)} (${w.zone})`
  );
}

/**
 * The instant at which the wall clock in `timeZone` first shows the given local time. A local
 * time inside a spring-forward gap maps to the end of the gap.
 */
export function zonedInstant(
  local: { year: number; month: number; day: number; hour?: number; minute?: number; second?: number },
  timeZone: string,
): Date {
  const naive = Date.UTC(
    local.year,
    local.month - 1,
    local.day,
    local.hour ?? 0,
    local.minute ?? 0,
    local.second ?? 0,
  );
  // Two candidates: the offset before and after a possible transition near the time.
  const candidates = [
    naive - zoneOffsetMs(new Date(naive - 86_400_000), timeZone),
    naive - zoneOffsetMs(new Date(naive + 86_400_000), timeZone),
  ].sort((a, b) => a - b);
  for (const c of candidates) {
    if (c + zoneOffsetMs(new Date(c), timeZone) === naive) return new Date(c);
  }
  // In a gap: the wall clock skips `naive`; the first instant after the gap is the transition.
  let lo = candidates[0]!;
  let hi = candidates[1]!;
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (mid + zoneOffsetMs(new Date(mid), timeZone) >= naive) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}
