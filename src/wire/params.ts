/**
 * Job parameters: the `params:` declarations of a manifest ({@link ParamInput}, YAML, checked
 * for consistency) and their stored form ({@link ParamDecl}), and the validation of the values
 * a run or a schedule supplies ({@link validateParams}). Values are strings at every edge (CLI
 * `--param k=v`, schedule YAML, HTTP) and reach the script only as environment variables
 * `BATON_PARAM_<NAME>`, never inside the script text, so no value can inject shell code.
 *
 * Longer than most files: declarations and values share one rule set (`checkValue`), and a
 * declaration's default is checked with the very function that checks run-time values.
 */
import { z } from 'zod';

import { parseDuration, formatDuration } from './duration.js';
import { WireError } from './errors.js';
import { quoteValue } from './manifest-error.js';
import { suggest } from './suggest.js';

export const PARAM_TYPES = ['string', 'integer', 'number', 'boolean', 'enum', 'duration'] as const;
export const ParamType = z.enum(PARAM_TYPES);
export type ParamType = z.infer<typeof ParamType>;

/** Most parameters a job may declare. */
export const MAX_PARAMS = 50;
/** Longest parameter name. */
export const MAX_PARAM_NAME_LENGTH = 64;
/** Longest value of any parameter, in characters (values travel in the environment). */
export const MAX_PARAM_VALUE_LENGTH = 4096;
/** Most values an enum may list. */
export const MAX_ENUM_VALUES = 200;

const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
const NAME_RULE = `must match [a-z][a-z0-9_]* (max ${MAX_PARAM_NAME_LENGTH} chars)`;

/** A parameter name; the script sees it as `BATON_PARAM_<NAME uppercased>`. */
export const ParamName = z
  .string()
  .max(MAX_PARAM_NAME_LENGTH, { error: NAME_RULE })
  .regex(NAME_PATTERN, { error: NAME_RULE });

/**
 * Parameter values on the wire (ExecRequest): declared names only, strings without NUL, at most
 * {@link MAX_PARAM_VALUE_LENGTH}. startExecution has already checked them against the job; this
 * is the agent's own guard, so a request from any other publisher cannot set an arbitrary
 * environment variable (a name with `=`) or make the spawn fail (NUL).
 */
export const ParamValues = z.record(
  ParamName,
  z
    .string()
    .max(MAX_PARAM_VALUE_LENGTH, { error: `must be at most ${MAX_PARAM_VALUE_LENGTH} characters` })
    .regex(/^[^\0]*$/, { error: 'must not contain NUL' }),
);

/** Which optional keys each type accepts; anything else is an error naming the allowed ones. */
const TYPE_KEYS: Readonly<Record<ParamType, readonly string[]>> = {
  string: ['max_length', 'pattern'],
  integer: ['min', 'max'],
  number: ['min', 'max'],
  boolean: [],
  enum: ['values'],
  duration: ['min', 'max'],
};
const TYPED_KEYS = ['min', 'max', 'max_length', 'pattern', 'values'] as const;

const Scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: 'must be a string, a number or a boolean',
});
const Bound = z.union([z.number(), z.string()], {
  error: 'must be a number (integer, number) or a duration such as 5m (duration)',
});

/** One parameter as declared in YAML under `params:`. */
export const ParamInput = z
  .strictObject({
    type: ParamType.describe('string, integer, number, boolean, enum or duration.'),
    description: z
      .string()
      .max(500, { error: 'must be at most 500 characters' })
      .optional()
      .describe('What the parameter does, shown by `baton jobs show`. Default: none.'),
    required: z
      .boolean()
      .default(false)
      .describe('A run must give a value (no default allowed then). Default: false.'),
    default: Scalar.optional().describe('Value when a run gives none; must satisfy the type and bounds.'),
    min: Bound.optional().describe('integer/number: smallest value; duration: shortest, e.g. 1m.'),
    max: Bound.optional().describe('integer/number: largest value; duration: longest, e.g. 1h.'),
    max_length: z
      .int({ error: 'must be an integer' })
      .min(1, { error: 'must be at least 1' })
      .max(MAX_PARAM_VALUE_LENGTH, { error: `must be at most ${MAX_PARAM_VALUE_LENGTH}` })
      .optional()
      .describe(`string: longest value in characters. Default: ${MAX_PARAM_VALUE_LENGTH}.`),
    pattern: z
      .string()
      .min(1, { error: 'must not be empty' })
      .max(1000, { error: 'must be at most 1000 characters' })
      .optional()
      .describe('string: JavaScript regular expression the whole value must match.'),
    values: z
      .array(z.union([z.string(), z.number()], { error: 'must be a string or a number' }))
      .min(1, { error: 'must list at least one value' })
      .max(MAX_ENUM_VALUES, { error: `must list at most ${MAX_ENUM_VALUES} values` })
      .optional()
      .describe('enum: the allowed values.'),
  })
  .superRefine((p, ctx) => {
    const issue = (path: string, message: string): void => {
      ctx.addIssue({ code: 'custom', path: [path], message });
    };
    for (const key of TYPED_KEYS) {
      if (p[key] !== undefined && !TYPE_KEYS[p.type].includes(key)) {
        const allowed = TYPE_KEYS[p.type];
        issue(
          key,
          `not allowed for type ${p.type}; ` +
            (allowed.length ? `allowed: ${allowed.join(', ')}` : 'it takes no bounds'),
        );
      }
    }
    const decl = declFromInput(p, issue);
    if (decl === undefined) return;
    if (p.required && p.default !== undefined) {
      issue('default', 'a required parameter takes no default; drop required: true or the default');
    }
    if (p.default !== undefined) {
      const wrongType = defaultTypeProblem(p.type, p.default);
      if (wrongType !== undefined) return issue('default', wrongType);
      const checked = checkValue(decl, String(p.default));
      if ('problem' in checked) issue('default', checked.problem);
    }
  })
  .describe('A typed, bounded job parameter, passed to the script as BATON_PARAM_<NAME>.');
export type ParamInput = z.input<typeof ParamInput>;

/** The `params:` mapping of a manifest: name → declaration. */
export const ParamsInput = z
  .record(ParamName, ParamInput)
  .refine((r) => Object.keys(r).length <= MAX_PARAMS, {
    error: `at most ${MAX_PARAMS} parameters are allowed`,
  })
  .describe('Typed inputs of the job; runs and schedules give values, scripts read BATON_PARAM_<NAME>.');

/**
 * A parameter as stored in the job manifest. Bounds of a duration are milliseconds (`minMs`);
 * `default` is the normalized value string, exactly what a run without a value receives.
 */
export const ParamDecl = z.object({
  type: ParamType,
  required: z.boolean(),
  default: z.string().optional(),
  description: z.string().optional(),
  /** integer / number bounds. */
  min: z.number().optional(),
  max: z.number().optional(),
  /** duration bounds. */
  minMs: z.int().optional(),
  maxMs: z.int().optional(),
  maxLength: z.int().optional(),
  pattern: z.string().optional(),
  values: z.array(z.string()).optional(),
});
export type ParamDecl = z.infer<typeof ParamDecl>;

/** Declarations by name, in declaration order. */
export type ParamDecls = Readonly<Record<string, ParamDecl>>;

/** Maps validated YAML declarations to the stored shape. */
export function toParamDecls(input: z.output<typeof ParamsInput>): Record<string, ParamDecl> {
  const out: Record<string, ParamDecl> = {};
  for (const [name, p] of Object.entries(input)) {
    const decl = declFromInput(p, (path, message) => {
      throw new WireError(`params.${name}.${path}: ${message}`, { path: `params.${name}.${path}` });
    });
    if (decl === undefined) throw new WireError(`params.${name}: invalid declaration`);
    out[name] = p.default === undefined ? decl : { ...decl, default: normalizeDefault(decl, p.default) };
  }
  return out;
}

function normalizeDefault(decl: ParamDecl, value: string | number | boolean): string {
  const checked = checkValue(decl, String(value));
  if ('problem' in checked) throw new WireError(`invalid default: ${checked.problem}`);
  return checked.value;
}

/**
 * The stored declaration without its default, or undefined after reporting through `issue`
 * when the bounds themselves are inconsistent (min > max, bad regex, bad duration, ...).
 */
function declFromInput(
  p: z.output<typeof ParamInput>,
  issue: (path: string, message: string) => void,
): ParamDecl | undefined {
  let ok = true;
  const bad = (path: string, message: string): undefined => {
    ok = false;
    issue(path, message);
    return undefined;
  };
  const base: ParamDecl = {
    type: p.type,
    required: p.required,
    ...(p.description === undefined ? {} : { description: p.description }),
  };
  switch (p.type) {
    case 'integer':
    case 'number': {
      const bound = (key: 'min' | 'max'): number | undefined => {
        const v = p[key];
        if (v === undefined) return undefined;
        if (typeof v !== 'number') return bad(key, `expected a number, got string ${quoteValue(v)}`);
        if (p.type === 'integer' && !Number.isSafeInteger(v))
          return bad(key, `expected an integer, got ${v}`);
        return v;
      };
      const min = bound('min');
      const max = bound('max');
      if (min !== undefined && max !== undefined && min > max) bad('max', `${max} is less than min ${min}`);
      if (!ok) return undefined;
      return { ...base, ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
    }
    case 'duration': {
      const bound = (key: 'min' | 'max'): number | undefined => {
        const v = p[key];
        if (v === undefined) return undefined;
        if (typeof v !== 'string') return bad(key, `expected a duration such as 5m, got number ${v}`);
        const ms = durationMs(v);
        return ms === undefined ? bad(key, `${quoteValue(v)} is not a duration; use 30s, 5m, 1h30m`) : ms;
      };
      const minMs = bound('min');
      const maxMs = bound('max');
      if (minMs !== undefined && maxMs !== undefined && minMs > maxMs)
        bad('max', `${quoteValue(p.max)} is shorter than min ${quoteValue(p.min)}`);
      if (!ok) return undefined;
      return {
        ...base,
        ...(minMs === undefined ? {} : { minMs }),
        ...(maxMs === undefined ? {} : { maxMs }),
      };
    }
    case 'string': {
      if (p.pattern !== undefined) {
        try {
          anchored(p.pattern);
        } catch (err) {
          return bad(
            'pattern',
            `${quoteValue(p.pattern)} is not a valid regular expression: ${(err as Error).message}`,
          );
        }
      }
      return {
        ...base,
        ...(p.max_length === undefined ? {} : { maxLength: p.max_length }),
        ...(p.pattern === undefined ? {} : { pattern: p.pattern }),
      };
    }
    case 'enum': {
      if (p.values === undefined) return bad('type', "an enum needs 'values', e.g. values: [small, large]");
      const values = p.values.map(String);
      const seen = new Set<string>();
      for (const [i, v] of values.entries()) {
        if (v === '' || v.includes('\0'))
          bad('values', `value ${i + 1} must be a non-empty string without NUL`);
        else if (seen.has(v)) bad('values', `${quoteValue(v)} is listed twice`);
        seen.add(v);
      }
      return ok ? { ...base, values } : undefined;
    }
    case 'boolean':
      return base;
    default:
      return exhaustive(p.type);
  }
}

/** Why a YAML default has the wrong YAML type for `type`, or undefined. */
function defaultTypeProblem(type: ParamType, value: string | number | boolean): string | undefined {
  const got = `${typeof value} ${quoteValue(value)}`;
  switch (type) {
    case 'integer':
    case 'number':
      return typeof value === 'number' ? undefined : `expected a number, got ${got}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected true or false, got ${got}`;
    case 'string':
    case 'duration':
      return typeof value === 'string' ? undefined : `expected a string, got ${got}; put it in quotes`;
    case 'enum':
      return typeof value === 'boolean' ? `expected one of the values, got ${got}` : undefined;
    default:
      return exhaustive(type);
  }
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** What a value of `decl` may be, for messages: `an integer 1..90`, `one of a, b`. */
export function describeAllowed(decl: ParamDecl): string {
  const range = (min: string | undefined, max: string | undefined): string =>
    min !== undefined && max !== undefined
      ? ` ${min}..${max}`
      : min !== undefined
        ? ` >= ${min}`
        : max !== undefined
          ? ` <= ${max}`
          : '';
  const str = (n: number | undefined) => (n === undefined ? undefined : String(n));
  const dur = (n: number | undefined) => (n === undefined ? undefined : formatDuration(n));
  switch (decl.type) {
    case 'string':
      return (
        `a string of at most ${decl.maxLength ?? MAX_PARAM_VALUE_LENGTH} characters` +
        (decl.pattern === undefined ? '' : ` matching ${decl.pattern}`)
      );
    case 'integer':
      return `an integer${range(str(decl.min), str(decl.max))}`;
    case 'number':
      return `a number${range(str(decl.min), str(decl.max))}`;
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${(decl.values ?? []).join(', ')}`;
    case 'duration':
      return `a duration such as 30s or 1h30m${range(dur(decl.minMs), dur(decl.maxMs))}`;
    default:
      return exhaustive(decl.type);
  }
}

/**
 * Checks one value against its declaration: the normalized value (integers and numbers in
 * canonical form, booleans `true`/`false`, everything else as given) or what is wrong with it,
 * quoting the value and saying what is allowed.
 */
export function checkValue(decl: ParamDecl, raw: string): { value: string } | { problem: string } {
  const q = quoteValue(raw);
  const allowed = `allowed ${describeAllowed(decl)}`;
  if (raw.includes('\0'))
    return { problem: `${q} contains a NUL byte, which no environment variable can hold` };
  if (raw.length > MAX_PARAM_VALUE_LENGTH)
    return {
      problem: `${q} is ${raw.length} characters long; at most ${MAX_PARAM_VALUE_LENGTH} are allowed`,
    };
  switch (decl.type) {
    case 'string': {
      const max = decl.maxLength ?? MAX_PARAM_VALUE_LENGTH;
      const length = [...raw].length;
      if (length > max) return { problem: `${q} is ${length} characters long; ${allowed}` };
      if (decl.pattern !== undefined && !anchored(decl.pattern).test(raw))
        return { problem: `${q} does not match the pattern; ${allowed}` };
      return { value: raw };
    }
    case 'integer':
    case 'number': {
      const integer = decl.type === 'integer';
      if (!(integer ? INTEGER : NUMBER).test(raw))
        return { problem: `${q} is not ${integer ? 'an integer' : 'a number'}; ${allowed}` };
      const n = Number(raw);
      if (!Number.isFinite(n) || (integer && !Number.isSafeInteger(n)))
        return { problem: `${q} is too large; ${allowed}` };
      if ((decl.min !== undefined && n < decl.min) || (decl.max !== undefined && n > decl.max))
        return { problem: `${q} is out of range; ${allowed}` };
      return { value: String(n === 0 ? 0 : n) }; // -0 → 0
    }
    case 'boolean':
      return raw === 'true' || raw === 'false'
        ? { value: raw }
        : { problem: `${q} is not a boolean; ${allowed}` };
    case 'enum':
      if ((decl.values ?? []).includes(raw)) return { value: raw };
      {
        const hint = suggest(raw, decl.values ?? []);
        return {
          problem:
            `${q} is not allowed; ${allowed}` +
            (hint === undefined ? '' : `; did you mean ${quoteValue(hint)}?`),
        };
      }
    case 'duration': {
      const ms = durationMs(raw);
      if (ms === undefined) return { problem: `${q} is not a duration; ${allowed}` };
      if ((decl.minMs !== undefined && ms < decl.minMs) || (decl.maxMs !== undefined && ms > decl.maxMs))
        return { problem: `${q} is out of range; ${allowed}` };
      return { value: raw };
    }
    default:
      return exhaustive(decl.type);
  }
}

/** One problem with the values of a run or a schedule. */
export interface ParamProblem {
  /** The parameter (as given, for unknown names). */
  readonly param: string;
  /** The offending value, absent for a missing required parameter. */
  readonly value?: string;
  /** What is wrong and what is allowed, quoting the value; without the parameter name. */
  readonly message: string;
}

export type ParamsResult =
  | { readonly ok: true; readonly values: Record<string, string> }
  | { readonly ok: false; readonly problems: readonly ParamProblem[] };

/**
 * Validates the values of a run against the job's declarations. On success: the normalized
 * values of every declared parameter that has a value or a default, in declaration order
 * (parameters without either are absent, so the script sees the variable unset). Otherwise every
 * problem: unknown names (with "did you mean"), wrong types, out of range, pattern mismatch,
 * missing required values.
 */
export function validateParams(
  decls: ParamDecls | undefined,
  values: Readonly<Record<string, string>>,
): ParamsResult {
  const declared = decls ?? {};
  const names = Object.keys(declared);
  const problems: ParamProblem[] = [];
  for (const [param, value] of Object.entries(values)) {
    if (Object.hasOwn(declared, param)) continue;
    const hint = suggest(param, names);
    problems.push({
      param,
      value,
      message:
        'unknown parameter' +
        (hint !== undefined
          ? `; did you mean ${quoteValue(hint)}?`
          : names.length > 0
            ? `; the job declares ${names.join(', ')}`
            : '; the job declares no parameters'),
    });
  }
  const out: Record<string, string> = {};
  for (const [param, decl] of Object.entries(declared)) {
    const given = Object.hasOwn(values, param) ? values[param] : undefined;
    if (given === undefined) {
      if (decl.default !== undefined) out[param] = decl.default;
      else if (decl.required) problems.push({ param, message: `required; allowed ${describeAllowed(decl)}` });
      continue;
    }
    const checked = checkValue(decl, given);
    if ('problem' in checked) problems.push({ param, value: given, message: checked.problem });
    else out[param] = checked.value;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values: out };
}

/** `parameter 'keep_days': '120' is out of range; allowed an integer 1..90`. */
export function formatParamProblem(p: ParamProblem): string {
  return `parameter ${quoteValue(p.param)}: ${p.message}`;
}

/**
 * The values given for a run do not fit the job's declared parameters. Nothing was published.
 * `message` has a header line and one line per problem.
 */
export class ParamsError extends Error {
  override readonly name = 'ParamsError';
  readonly jobId: string;
  readonly problems: readonly ParamProblem[];

  constructor(jobId: string, problems: readonly ParamProblem[], options: { cause?: unknown } = {}) {
    super(
      [
        `invalid parameters for job ${quoteValue(jobId)}; nothing was started:`,
        ...problems.map((p) => `  ${formatParamProblem(p)}`),
      ].join('\n'),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.jobId = jobId;
    this.problems = problems;
  }
}

/** {@link validateParams} that throws {@link ParamsError}. */
export function requireValidParams(
  jobId: string,
  decls: ParamDecls | undefined,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const r = validateParams(decls, values);
  if (!r.ok) throw new ParamsError(jobId, r.problems);
  return r.values;
}

/** A schedule whose parameter values a job's declarations refuse. */
export interface BrokenSchedule {
  readonly scheduleId: string;
  readonly problems: readonly ParamProblem[];
}

/**
 * The schedules of `job` (those with `job: <job.id>`) whose `params` no longer validate against
 * `job.params`: what a job change would break. Other schedules are ignored.
 */
export function brokenSchedules(
  job: { readonly id: string; readonly params?: ParamDecls | undefined },
  schedules: Iterable<{
    readonly id: string;
    readonly job: string;
    readonly params: Readonly<Record<string, string>>;
  }>,
): BrokenSchedule[] {
  const out: BrokenSchedule[] = [];
  for (const s of schedules) {
    if (s.job !== job.id) continue;
    const r = validateParams(job.params, s.params);
    if (!r.ok) out.push({ scheduleId: s.id, problems: r.problems });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** `schedule 'nightly': parameter 'keep_days': '120' is out of range; ...` joined with `; `. */
export function formatBrokenSchedule(b: BrokenSchedule): string {
  return `schedule ${quoteValue(b.scheduleId)}: ${b.problems.map(formatParamProblem).join('; ')}`;
}

/** The regular expression of a `pattern`: the whole value must match. Throws SyntaxError. */
function anchored(pattern: string): RegExp {
  // Compiled alone first: an unbalanced `a)|(b` would otherwise escape the anchoring group.
  new RegExp(pattern, 'u');
  return new RegExp(`^(?:${pattern})$`, 'u');
}

function durationMs(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch (err) {
    if (err instanceof WireError) return undefined;
    throw err;
  }
}

function exhaustive(value: never): never {
  throw new Error(`unhandled parameter type ${String(value)}`);
}
