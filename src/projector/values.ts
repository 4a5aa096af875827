// How wire values become column values. Timestamps are stored as `Date#toISOString` text (UTC,
// milliseconds), so string comparison in SQL orders them correctly whatever precision the
// producer wrote.

export function iso(ts: string): string;
export function iso(ts: string | undefined): string | null;
export function iso(ts: string | undefined): string | null {
  if (ts === undefined) return null;
  // Agents write `toISOString` form already; re-parsing every timestamp was a hot spot.
  return CANONICAL.test(ts) ? ts : new Date(ts).toISOString();
}

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** JSON text of a value whose keys are sorted, so equal values are equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
