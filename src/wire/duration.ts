/**
 * Durations: strings at the edge (`"30s"`, `"1h30m"`), integer milliseconds inside.
 */
import { z } from 'zod';

import { WireError, quote } from './errors.js';

/** Milliseconds per unit, largest first; the order is also the order units must appear in. */
const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

type Unit = (typeof UNITS)[number][0];

const UNIT_MS: Readonly<Record<Unit, number>> = Object.fromEntries(UNITS) as Record<Unit, number>;
const UNIT_RANK: Readonly<Record<Unit, number>> = Object.fromEntries(UNITS.map(([u], i) => [u, i])) as Record<
  Unit,
  number
>;

// `ms` before `m`, so "250ms" is not read as 250 minutes followed by a stray "s".
const PART = /(\d+)(ms|d|h|m|s)/y;

const ALLOWED = `a duration such as "250ms", "30s", "5m", "1h30m" or "2d" (units d, h, m, s, ms, largest first)`;

/**
 * Parses a duration string into milliseconds: one or more `<integer><unit>` parts with units
 * `d`, `h`, `m`, `s`, `ms`, each at most once and largest first (`"1h30m"`, not `"30m1h"`).
 * `"0"` is accepted as zero. Throws {@link WireError} quoting the value otherwise.
 */
export function parseDuration(text: string): number {
  const fail = (why: string): never => {
    throw new WireError(`invalid duration ${quote(text)}: ${why}; expected ${ALLOWED}`, { value: text });
  };
  if (typeof text !== 'string') fail('not a string');
  if (text === '0') return 0;
  if (text.length === 0) fail('empty');
  if (/^\d+$/.test(text)) fail('missing unit');
  if (/\d[.,]\d/.test(text)) fail('fractions are not supported, use smaller units ("1h30m", not "1.5h")');

  let total = 0;
  let lastRank = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const match = PART.exec(text);
    if (match === null) return fail(`unexpected ${quote(text.slice(at))} at position ${at}`);
    const unit = match[2] as Unit;
    const rank = UNIT_RANK[unit];
    if (rank <= lastRank) fail(`unit '${unit}' is repeated or out of order`);
    lastRank = rank;
    total += Number(match[1]) * UNIT_MS[unit];
  }
  if (!Number.isSafeInteger(total)) fail('too large');
  return total;
}

/**
 * Formats milliseconds the way {@link parseDuration} reads them, largest units first, zero parts
 * left out: `5_400_000` → `"1h30m"`, `250` → `"250ms"`, `0` → `"0s"`. Throws {@link WireError}
 * for negative, fractional or unsafe values.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new WireError(
      `invalid duration ${quote(ms)}: must be a non-negative integer number of milliseconds`,
      {
        value: ms,
      },
    );
  }
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/**
 * Zod schema for a duration string at the edge (YAML, CLI flag, HTTP body); its output is the
 * number of milliseconds. Errors quote the value and say what is allowed.
 */
export const Duration = z.string().transform((text, ctx): number => {
  try {
    return parseDuration(text);
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    ctx.issues.push({ code: 'custom', message: err.message, input: text });
    return z.NEVER;
  }
});
