/**
 * Cron expressions of schedules: validated here field by field (so an error names the field,
 * the bad value and the allowed range), evaluated by `croner` (time-zone and DST aware; see
 * docs/dependencies.md for why, and docs/schedules.md for the DST semantics it gives us).
 *
 * Accepted: 5 fields (`minute hour day-of-month month day-of-week`), 6 with a leading `second`
 * field, or one of `@yearly @annually @monthly @weekly @daily @midnight @hourly`. Each field is
 * a comma list of `*`, `?` (day fields), `n`, `a-b`, each optionally `/step`; months and
 * weekdays also by name (`JAN`, `MON`). Day-of-week 0 and 7 are both Sunday. When both day
 * fields are restricted, a day matches if either does (classic cron).
 */
import { Cron } from 'croner';

import { WireError, quote } from './errors.js';

/** The cron macros and the 5-field expressions they stand for. */
export const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

type FieldSpec = { name: string; min: number; max: number; names?: readonly string[]; question?: boolean };

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };
const FIVE_FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31, question: true },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  {
    name: 'day of week',
    min: 0,
    max: 7,
    names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
    question: true,
  },
];

/** A validated cron expression. */
export type CronSpec = {
  /** As written (trimmed). */
  readonly expression: string;
  /** The 5 or 6 fields after expanding a macro. */
  readonly fields: readonly string[];
  /** True when the expression has a seconds field. */
  readonly hasSeconds: boolean;
};

const rangeText = (f: FieldSpec): string =>
  `${f.min}-${f.max}` + (f.names ? ` or ${f.names[0]}-${f.names.at(-1)}` : '');

/**
 * Validates a cron expression. Throws {@link WireError} naming the field, quoting the bad part
 * and giving the allowed range, e.g.
 * `invalid cron '0 61 * * *': minute field '61': 61 is outside 0-59`.
 */
export function parseCron(text: string): CronSpec {
  const expression = text.trim();
  const fail = (why: string): never => {
    throw new WireError(`invalid cron ${quote(expression)}: ${why}`, { value: text });
  };
  if (expression.startsWith('@')) {
    const fields = CRON_MACROS[expression.toLowerCase()];
    if (fields === undefined)
      return fail(`unknown macro; expected one of ${Object.keys(CRON_MACROS).join(', ')}`);
    return { expression, fields: fields.split(' '), hasSeconds: false };
  }
  const fields = expression.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5 && fields.length !== 6) {
    return fail(
      `has ${fields.length} field${fields.length === 1 ? '' : 's'}; expected 5 (minute hour day-of-month month day-of-week), ` +
        '6 (with a leading second) or a macro such as @daily',
    );
  }
  const specs = fields.length === 6 ? [SECOND, ...FIVE_FIELDS] : FIVE_FIELDS;
  fields.forEach((field, i) => {
    const spec = specs[i]!;
    const why = checkField(field, spec);
    if (why !== null) fail(`${spec.name} field ${quote(field)}: ${why}`);
  });
  const spec: CronSpec = { expression, fields, hasSeconds: fields.length === 6 };
  // Syntactically fine but impossible (`0 0 30 2 *`): refuse rather than never fire.
  if (cronJob(spec, 'UTC').nextRun(new Date(0)) === null)
    fail('never matches any date (check day of month against month)');
  return spec;
}

/** Why a field is invalid, or null. */
function checkField(field: string, spec: FieldSpec): string | null {
  const allowed = `allowed ${rangeText(spec)}`;
  for (const item of field.split(',')) {
    if (item === '') return `empty list item; ${allowed}`;
    const [range, step, extra] = item.split('/');
    if (extra !== undefined) return `${quote(item)} has more than one '/'`;
    if (step !== undefined) {
      if (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > spec.max - spec.min + 1) {
        return `step ${quote(step)} must be a whole number 1-${spec.max - spec.min + 1}`;
      }
    }
    if (range === '*' || (range === '?' && spec.question)) continue;
    if (range === '?') return `'?' is only allowed in the day fields`;
    const bounds = range!.split('-');
    if (bounds.length > 2) return `${quote(range)} is not a value or a range a-b; ${allowed}`;
    const values: number[] = [];
    for (const b of bounds) {
      const v = valueOf(b, spec);
      if (v === null) return `${quote(b)} is not a number${spec.names ? ' or name' : ''}; ${allowed}`;
      if (v < spec.min || v > spec.max) return `${v} is outside ${spec.min}-${spec.max}`;
      values.push(v);
    }
    if (values.length === 2 && values[0]! > values[1]!) {
      return `range ${quote(range)} runs backwards; write the smaller value first`;
    }
  }
  return null;
}

function valueOf(text: string, spec: FieldSpec): number | null {
  if (/^\d{1,2}$/.test(text)) return Number(text);
  const i = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  return i < 0 ? null : i + spec.min;
}

/** A croner job for evaluation only (never started). */
function cronJob(spec: CronSpec, timeZone: string): Cron {
  return new Cron(spec.fields.join(' '), { timezone: timeZone, paused: true });
}

/** Fire-time evaluation of one expression in one zone. */
export type CronClock = {
  /** The first fire time strictly after `after`, or null when there is none. */
  nextAfter(after: Date): Date | null;
};

/**
 * A fire-time evaluator in `timeZone` (an IANA name, already validated). DST: a local time that
 * does not exist (spring forward) fires once, at the transition; one that exists twice (fall
 * back) fires once, at the first occurrence; expressions whose hour field is `*` keep firing by
 * elapsed time through both transitions.
 */
export function cronClock(spec: CronSpec, timeZone: string): CronClock {
  const job = cronJob(spec, timeZone);
  return {
    nextAfter(after) {
      // croner works in whole seconds and returns the next time strictly after its argument.
      return job.nextRun(after);
    },
  };
}
