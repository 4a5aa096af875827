/**
 * Schedules: the YAML shape operators write ({@link ScheduleInput}, snake_case, strict) and the
 * normalized shape stored as JSON in the `schedules` KV bucket ({@link Schedule}: camelCase,
 * durations in milliseconds, targets as ExecTargets, `active` dates resolved to instants in the
 * schedule's zone). Errors are located like job manifest errors (manifest-issues.ts).
 */
import { z } from 'zod';

import { parseCron } from './cron.js';
import { parseDuration, formatDuration } from './duration.js';
import { WireError } from './errors.js';
import { Overlap } from './exec-request.js';
import { ExecTarget } from './exec-target.js';
import { Timestamp } from './fields.js';
import { GroupName, PcId } from './ids.js';
import { ManifestError, quoteValue } from './manifest-error.js';
import type { ManifestIssue } from './manifest-error.js';
import type { RawDoc } from './manifest-file.js';
import { manifestIssues } from './manifest-issues.js';
import { isTimeZone, suggestTimeZone, zonedInstant } from './time-zone.js';

/** Default `starting_deadline`: agents skip a fire's requests one hour after the fire time. */
export const DEFAULT_STARTING_DEADLINE = '1h';
/** Default `catch_up`: after downtime, run the latest fire missed within the last hour. */
export const DEFAULT_CATCH_UP = { window: '1h', policy: 'latest' } as const;

const SLUG = /^[a-z0-9][a-z0-9_-]*$/;
const SLUG_RULE = 'must match [a-z0-9][a-z0-9_-]* (max 64 chars)';
const Slug = z.string().max(64, { error: SLUG_RULE }).regex(SLUG, { error: SLUG_RULE });

/** A duration string at the edge, checked by parseDuration (`30s`, `5m`, `1h30m`). */
const DurationText = z.string().superRefine((text, ctx) => {
  try {
    parseDuration(text);
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    ctx.addIssue({
      code: 'custom',
      message: err.message.replace(/^invalid duration "[^"]*": /, 'invalid duration; '),
      input: text,
    });
  }
});

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_RULE =
  "must be a date (2026-12-01, in the schedule's time zone) or an RFC 3339 time (2026-12-01T08:00:00Z)";
const DateOrTime = z
  .string()
  .refine(
    (s) =>
      (DATE.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`))) ||
      z.iso.datetime({ offset: true }).safeParse(s).success,
    { error: DATE_RULE },
  );

export const CatchUpPolicy = z.enum(['latest', 'all', 'none']);
export type CatchUpPolicy = z.infer<typeof CatchUpPolicy>;

/**
 * A schedule as written in YAML (`kind: schedule`). Unknown keys are errors; see
 * docs/schedules.md for every field and its default.
 */
export const ScheduleInput = z
  .strictObject({
    kind: z.literal('schedule').describe("Document kind; 'schedule'."),
    id: Slug.describe('Schedule id, unique in the fleet, e.g. nightly-disk.'),
    job: Slug.describe('Id of the job to run (must exist when the schedule is applied).'),
    description: z.string().max(500, { error: 'must be at most 500 characters' }).optional(),
    target: z
      .strictObject({
        all: z.boolean().optional().describe('Every endpoint.'),
        groups: z.array(GroupName).optional().describe('Endpoints in these groups.'),
        pcs: z.array(PcId).optional().describe('These endpoints.'),
      })
      .describe('Where to run: all: true, groups: [...], pcs: [...] (may combine).'),
    cron: z
      .string()
      .superRefine((text, ctx) => {
        try {
          parseCron(text);
        } catch (err) {
          if (!(err instanceof WireError)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message, input: text });
        }
      })
      .describe('5 fields, 6 with leading seconds, or @hourly/@daily/@weekly/@monthly/@yearly.'),
    timezone: z
      .string()
      .default('UTC')
      .superRefine((name, ctx) => {
        if (isTimeZone(name)) return;
        const hint = suggestTimeZone(name);
        ctx.addIssue({
          code: 'custom',
          input: name,
          message:
            `unknown time zone ${quoteValue(name)}` +
            (hint
              ? `; did you mean ${quoteValue(hint)}?`
              : '; expected an IANA name such as Europe/Berlin or UTC'),
        });
      })
      .describe('IANA time zone the cron is read in. Default: UTC.'),
    jitter: DurationText.default('0').describe(
      'Each agent waits a random 0..jitter before starting. Default: 0.',
    ),
    starting_deadline: DurationText.default(DEFAULT_STARTING_DEADLINE).describe(
      'Agents skip a fire later than fire time + this; must be >= jitter. Default: 1h.',
    ),
    overlap: Overlap.default('skip').describe(
      'When the previous run still runs on a pc: skip, allow, cancel_previous. Default: skip.',
    ),
    catch_up: z
      .strictObject({
        window: DurationText.default(DEFAULT_CATCH_UP.window),
        policy: CatchUpPolicy.default(DEFAULT_CATCH_UP.policy),
      })
      .default({ ...DEFAULT_CATCH_UP })
      .describe(
        'Fires missed while no scheduler ran: latest | all | none within window. Default: latest within 1h.',
      ),
    active: z
      .strictObject({ from: DateOrTime.optional(), until: DateOrTime.optional() })
      .optional()
      .describe('Fire only from/until these dates (until inclusive) or times. Default: always.'),
    enabled: z.boolean().default(true).describe('Default: true.'),
    params: z
      .record(z.string(), z.string())
      .default({})
      .describe('Job parameters for every fire (string values).'),
  })
  .superRefine((s, ctx) => {
    const t = s.target;
    if (!t.all && !t.groups?.length && !t.pcs?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: 'names no endpoint; set all: true, groups: [...] or pcs: [...]',
      });
    }
    const jitterMs = safeMs(s.jitter);
    const deadlineMs = safeMs(s.starting_deadline);
    if (deadlineMs !== undefined && deadlineMs <= 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['starting_deadline'],
        message: `${quoteValue(s.starting_deadline)} must be longer than 0`,
      });
    } else if (jitterMs !== undefined && deadlineMs !== undefined && deadlineMs < jitterMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['starting_deadline'],
        message: `${quoteValue(s.starting_deadline)} is shorter than jitter ${quoteValue(s.jitter)}; agents would skip every fire that waits longer than the deadline`,
      });
    }
    if (s.active?.from && s.active.until && isTimeZone(s.timezone)) {
      const a = resolveActive(s.active, s.timezone);
      if (a.from && a.until && a.from >= a.until) {
        ctx.addIssue({
          code: 'custom',
          path: ['active', 'until'],
          message: `${quoteValue(s.active.until)} is not after from ${quoteValue(s.active.from)}`,
        });
      }
    }
  })
  .describe('A baton schedule: which job runs where and when.');
export type ScheduleInput = z.input<typeof ScheduleInput>;

/** A schedule as stored in the `schedules` bucket. Readers accept unknown fields. */
export const Schedule = z.object({
  kind: z.literal('schedule'),
  id: z.string().regex(SLUG),
  job: z.string().regex(SLUG),
  description: z.string().optional(),
  targets: z.array(ExecTarget).min(1),
  cron: z.string(),
  timezone: z.string(),
  jitterMs: z.int().nonnegative(),
  startingDeadlineMs: z.int().positive(),
  overlap: Overlap,
  catchUp: z.object({ windowMs: z.int().nonnegative(), policy: CatchUpPolicy }),
  active: z.object({ from: Timestamp.optional(), until: Timestamp.optional() }),
  enabled: z.boolean(),
  params: z.record(z.string(), z.string()),
});
export type Schedule = z.infer<typeof Schedule>;

function safeMs(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/** `from` at local midnight; a date-only `until` at the end of that day (inclusive). */
function resolveActive(
  active: { from?: string | undefined; until?: string | undefined },
  timeZone: string,
): { from?: string; until?: string } {
  const at = (s: string, nextDay: boolean): string => {
    if (!DATE.test(s)) return new Date(s).toISOString();
    const [year, month, day] = s.split('-').map(Number) as [number, number, number];
    const d = new Date(Date.UTC(year, month - 1, day + (nextDay ? 1 : 0)));
    return zonedInstant(
      { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() },
      timeZone,
    ).toISOString();
  };
  return {
    ...(active.from ? { from: at(active.from, false) } : {}),
    ...(active.until ? { until: at(active.until, true) } : {}),
  };
}

/** Maps a validated YAML schedule to the stored shape. */
export function toSchedule(input: z.output<typeof ScheduleInput>): Schedule {
  const t = input.target;
  const targets: ExecTarget[] = [
    ...(t.all ? [{ kind: 'all' as const }] : []),
    ...[...new Set(t.groups ?? [])].map((group) => ({ kind: 'group' as const, group })),
    ...[...new Set(t.pcs ?? [])].map((pcId) => ({ kind: 'pc' as const, pcId })),
  ];
  return {
    kind: 'schedule',
    id: input.id,
    job: input.job,
    ...(input.description === undefined ? {} : { description: input.description }),
    targets,
    cron: parseCron(input.cron).expression,
    timezone: input.timezone,
    jitterMs: parseDuration(input.jitter),
    startingDeadlineMs: parseDuration(input.starting_deadline),
    overlap: input.overlap,
    catchUp: { windowMs: parseDuration(input.catch_up.window), policy: input.catch_up.policy },
    active: input.active ? resolveActive(input.active, input.timezone) : {},
    enabled: input.enabled,
    params: input.params,
  };
}

/** A validated schedule document. */
export interface ParsedSchedule {
  readonly schedule: Schedule;
  readonly yaml: string;
  readonly file: string;
  readonly line: number;
  /** File line of a field (for errors found later, such as an unknown job id). */
  readonly lineAt: RawDoc['lineAt'];
}

/**
 * Validates the `kind: schedule` documents that parseManifestFiles passed through raw. Throws
 * one {@link ManifestError} with every issue (including schedule ids defined twice).
 */
export function parseSchedules(docs: readonly RawDoc[]): ParsedSchedule[] {
  const out: ParsedSchedule[] = [];
  const issues: ManifestIssue[] = [];
  const causes: unknown[] = [];
  const seen = new Map<string, string>();
  for (const doc of docs) {
    if (doc.kind !== 'schedule') continue;
    const parsed = ScheduleInput.safeParse(doc.value);
    if (!parsed.success) {
      issues.push(...manifestIssues(doc, parsed.error, ScheduleInput));
      causes.push(parsed.error);
      continue;
    }
    const where = `${doc.file}:${doc.lineAt(['id'])}`;
    const first = seen.get(parsed.data.id);
    if (first !== undefined) {
      issues.push({
        file: doc.file,
        line: doc.lineAt(['id']),
        path: 'id',
        message: `duplicate schedule id ${quoteValue(parsed.data.id)}; also defined at ${first}`,
      });
      continue;
    }
    seen.set(parsed.data.id, where);
    out.push({
      schedule: toSchedule(parsed.data),
      yaml: doc.yaml,
      file: doc.file,
      line: doc.line,
      lineAt: doc.lineAt,
    });
  }
  if (issues.length > 0)
    throw new ManifestError(issues, { cause: causes.length > 1 ? new AggregateError(causes) : causes[0] });
  return out;
}

/** `1h` → `1h`, for showing stored milliseconds the way they were written. */
export const showDuration = (ms: number): string => (ms === 0 ? '0' : formatDuration(ms));

/**
 * JSON Schema (draft 2020-12) of the YAML format, for editors.
 */
export function scheduleJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ScheduleInput, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }),
    title: 'baton schedule',
  };
}
