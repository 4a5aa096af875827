import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { WireError } from '../../src/wire/errors.js';
import { parseExecRequest } from '../../src/wire/exec-request.js';
import { ManifestError } from '../../src/wire/manifest-error.js';
import { manifestJsonSchema } from '../../src/wire/manifest.js';
import { parseManifestFile } from '../../src/wire/manifest-file.js';
import {
  ParamsError,
  brokenSchedules,
  formatBrokenSchedule,
  requireValidParams,
  validateParams,
  type ParamDecls,
} from '../../src/wire/params.js';

/** A job with `params:` lines (indented by the caller as YAML under `params:`). */
function job(params: string): string {
  return `kind: job\nid: rotate-logs\nversion: 1.0.0\nparams:\n${params}\nexecute:\n  shell: sh\n  script: echo\n  timeout: 5m\n`;
}

function decls(params: string): ParamDecls {
  return parseManifestFile(job(params), 'job.yaml').jobs[0]!.manifest.params ?? {};
}

/** The issue lines of a manifest whose params are invalid. */
function issues(params: string): string[] {
  try {
    parseManifestFile(job(params), 'job.yaml');
  } catch (err) {
    assert.ok(err instanceof ManifestError, String(err));
    return err.message.split('\n');
  }
  assert.fail('expected a ManifestError');
}

const ROTATE = [
  '  keep_days: { type: integer, min: 1, max: 90, default: 14, description: Days of logs to keep }',
  '  service: { type: enum, values: [nginx, postgres, app], required: true }',
  '  dry_run: { type: boolean, default: false }',
  "  pattern: { type: string, max_length: 8, pattern: '[a-z*.]+' }",
  '  ratio: { type: number, min: 0, max: 1 }',
  '  window: { type: duration, min: 1m, max: 2h, default: 30m }',
].join('\n');

/** Problem lines of `values` against the ROTATE declarations, or the normalized values. */
function check(values: Record<string, string>): string[] | Record<string, string> {
  const r = validateParams(decls(ROTATE), values);
  return r.ok ? r.values : r.problems.map((p) => `${p.param}: ${p.message}`);
}

describe('params: declarations', () => {
  it('stores normalized declarations with defaults as value strings, in order', () => {
    assert.deepEqual(decls(ROTATE), {
      keep_days: {
        type: 'integer',
        required: false,
        description: 'Days of logs to keep',
        min: 1,
        max: 90,
        default: '14',
      },
      service: { type: 'enum', required: true, values: ['nginx', 'postgres', 'app'] },
      dry_run: { type: 'boolean', required: false, default: 'false' },
      pattern: { type: 'string', required: false, maxLength: 8, pattern: '[a-z*.]+' },
      ratio: { type: 'number', required: false, min: 0, max: 1 },
      window: { type: 'duration', required: false, minMs: 60_000, maxMs: 7_200_000, default: '30m' },
    });
  });

  it('leaves params out of the stored manifest when none are declared', () => {
    const m = parseManifestFile(
      'kind: job\nid: a\nversion: "1"\nexecute:\n  shell: sh\n  script: x\n  timeout: 5s\n',
      'a.yaml',
    ).jobs[0]!.manifest;
    assert.equal('params' in m, false);
  });

  it('accepts enum values written as numbers and stores them as strings', () => {
    assert.deepEqual(decls('  level: { type: enum, values: [1, 2, 3], default: 2 }').level, {
      type: 'enum',
      required: false,
      values: ['1', '2', '3'],
      default: '2',
    });
  });

  it('refuses every inconsistent declaration with its line and field', () => {
    assert.deepEqual(
      issues(
        [
          '  a: { type: integer, min: 10, max: 5 }',
          '  b: { type: integer, max: 5, default: 9 }',
          '  c: { type: enum, values: [] }',
          "  d: { type: string, pattern: '(' }",
          '  e: { type: string, required: true, default: x }',
          '  f: { type: boolean, default: "yes" }',
          '  g: { type: string, max_lenght: 3 }',
          '  h: { type: integer, pattern: x }',
          '  i: { type: duration, min: 1h, max: 1m }',
          '  Bad: { type: string }',
          '  j: { type: strng }',
          '  k: { type: enum }',
          '  l: { type: string, default: 5 }',
          "  m: { type: string, pattern: '[a-z]+', default: 'A1' }",
          '  n: { type: string, max_length: 2, default: abc }',
          '  o: { type: integer, min: 1.5 }',
          '  p: { type: enum, values: [a, a] }',
          '  q: { type: duration, default: soon }',
          '  r: { type: number, min: 0, max: 1, default: 2.5 }',
          '  s: { type: enum, values: [a, b], default: c }',
          '  t: { type: integer, default: 1.5 }',
          "  u: { type: string, pattern: 'a)|(b' }",
        ].join('\n'),
      ),
      [
        'job.yaml:5: params.a.max: 5 is less than min 10',
        "job.yaml:6: params.b.default: '9' is out of range; allowed an integer <= 5",
        'job.yaml:7: params.c.values: must list at least one value, got 0',
        "job.yaml:8: params.d.pattern: '(' is not a valid regular expression: Invalid regular expression: /(/u: Unterminated group",
        'job.yaml:9: params.e.default: a required parameter takes no default; drop required: true or the default',
        "job.yaml:10: params.f.default: expected true or false, got string 'yes'",
        "job.yaml:11: params.g: unknown key 'max_lenght'; did you mean 'max_length'?",
        'job.yaml:12: params.h.pattern: not allowed for type integer; allowed: min, max',
        "job.yaml:13: params.i.max: '1m' is shorter than min '1h'",
        "job.yaml:14: params: key 'Bad' is invalid; must match [a-z][a-z0-9_]* (max 64 chars)",
        "job.yaml:15: params.j.type: 'strng' is not allowed; expected one of string, integer, number, boolean, enum, duration",
        "job.yaml:16: params.k.type: an enum needs 'values', e.g. values: [small, large]",
        'job.yaml:17: params.l.default: expected a string, got number 5; put it in quotes',
        "job.yaml:18: params.m.default: 'A1' does not match the pattern; allowed a string of at most 4096 characters matching [a-z]+",
        "job.yaml:19: params.n.default: 'abc' is 3 characters long; allowed a string of at most 2 characters",
        'job.yaml:20: params.o.min: expected an integer, got 1.5',
        "job.yaml:21: params.p.values: 'a' is listed twice",
        "job.yaml:22: params.q.default: 'soon' is not a duration; allowed a duration such as 30s or 1h30m",
        "job.yaml:23: params.r.default: '2.5' is out of range; allowed a number 0..1",
        "job.yaml:24: params.s.default: 'c' is not allowed; allowed one of a, b; did you mean 'a'?",
        "job.yaml:25: params.t.default: '1.5' is not an integer; allowed an integer",
        "job.yaml:26: params.u.pattern: 'a)|(b' is not a valid regular expression: Invalid regular expression: /a)|(b/u: Unmatched ')'",
      ],
    );
  });

  it('refuses bounds of the wrong kind for the type', () => {
    assert.deepEqual(
      issues(
        [
          '  a: { type: integer, min: 1m }',
          '  b: { type: duration, max: 5 }',
          '  c: { type: boolean, values: [x] }',
        ].join('\n'),
      ),
      [
        "job.yaml:5: params.a.min: expected a number, got string '1m'",
        'job.yaml:6: params.b.max: expected a duration such as 5m, got number 5',
        'job.yaml:7: params.c.values: not allowed for type boolean; it takes no bounds',
      ],
    );
  });

  it('is part of the JSON Schema, with the name rule and the types', () => {
    const params = (manifestJsonSchema().properties as Record<string, Record<string, unknown>>).params!;
    assert.deepEqual(params.propertyNames, { type: 'string', maxLength: 64, pattern: '^[a-z][a-z0-9_]*$' });
    const decl = params.additionalProperties as { properties: Record<string, { enum?: string[] }> };
    assert.deepEqual(decl.properties.type!.enum, [
      'string',
      'integer',
      'number',
      'boolean',
      'enum',
      'duration',
    ]);
    assert.ok(decl.properties.max_length && decl.properties.values && decl.properties.default);
  });
});

describe('params: values', () => {
  it('fills defaults and normalizes integers, numbers and booleans', () => {
    assert.deepEqual(check({ service: 'app', keep_days: '+007', ratio: '0.50', dry_run: 'true' }), {
      keep_days: '7',
      service: 'app',
      dry_run: 'true',
      ratio: '0.5',
      window: '30m',
    });
    assert.deepEqual(check({ service: 'app', window: '1h30m' }), {
      keep_days: '14',
      service: 'app',
      dry_run: 'false',
      window: '1h30m',
    });
    assert.deepEqual(validateParams(decls('  n: { type: integer }'), { n: '-0' }), {
      ok: true,
      values: { n: '0' },
    });
  });

  it('accepts the bounds themselves', () => {
    const ok = check({ service: 'nginx', keep_days: '90', ratio: '1', window: '2h', pattern: 'abcdefgh' });
    assert.equal(Array.isArray(ok), false);
    assert.equal(Array.isArray(check({ service: 'nginx', keep_days: '1', ratio: '0', window: '1m' })), false);
  });

  it('lists every problem with the parameter, the value and what is allowed', () => {
    assert.deepEqual(
      check({
        sevice: 'app',
        keep_days: '91',
        dry_run: 'yes',
        pattern: 'A-Z',
        ratio: 'NaN',
        window: '3h',
      }),
      [
        "sevice: unknown parameter; did you mean 'service'?",
        "keep_days: '91' is out of range; allowed an integer 1..90",
        'service: required; allowed one of nginx, postgres, app',
        "dry_run: 'yes' is not a boolean; allowed true or false",
        "pattern: 'A-Z' does not match the pattern; allowed a string of at most 8 characters matching [a-z*.]+",
        "ratio: 'NaN' is not a number; allowed a number 0..1",
        "window: '3h' is out of range; allowed a duration such as 30s or 1h30m 1m..2h",
      ],
    );
  });

  it('checks each type', () => {
    const base = { service: 'app' };
    assert.deepEqual(check({ ...base, keep_days: '1.0' }), [
      "keep_days: '1.0' is not an integer; allowed an integer 1..90",
    ]);
    assert.deepEqual(check({ ...base, keep_days: '0' }), [
      "keep_days: '0' is out of range; allowed an integer 1..90",
    ]);
    assert.deepEqual(check({ ...base, keep_days: '99999999999999999999' }), [
      "keep_days: '99999999999999999999' is too large; allowed an integer 1..90",
    ]);
    assert.deepEqual(check({ ...base, keep_days: '' }), [
      "keep_days: '' is not an integer; allowed an integer 1..90",
    ]);
    assert.deepEqual((check({ ...base, ratio: '1e-1' }) as Record<string, string>).ratio, '0.1');
    assert.deepEqual(check({ ...base, ratio: '-0.1' }), [
      "ratio: '-0.1' is out of range; allowed a number 0..1",
    ]);
    assert.deepEqual(check({ ...base, dry_run: 'TRUE' }), [
      "dry_run: 'TRUE' is not a boolean; allowed true or false",
    ]);
    assert.deepEqual(check({ service: 'ngnix' }), [
      "service: 'ngnix' is not allowed; allowed one of nginx, postgres, app; did you mean 'nginx'?",
    ]);
    assert.deepEqual(check({ ...base, window: '30' }), [
      "window: '30' is not a duration; allowed a duration such as 30s or 1h30m 1m..2h",
    ]);
    assert.deepEqual(check({ ...base, window: '59s' }), [
      "window: '59s' is out of range; allowed a duration such as 30s or 1h30m 1m..2h",
    ]);
    assert.deepEqual(check({ ...base, pattern: 'abcdefghi' }), [
      "pattern: 'abcdefghi' is 9 characters long; allowed a string of at most 8 characters matching [a-z*.]+",
    ]);
  });

  it('matches a pattern against the whole value', () => {
    // `[a-z*.]+` must not accept a value that merely contains a match.
    assert.deepEqual(check({ service: 'app', pattern: 'ab;c' }), [
      "pattern: 'ab;c' does not match the pattern; allowed a string of at most 8 characters matching [a-z*.]+",
    ]);
    assert.deepEqual(check({ service: 'app', pattern: 'ab\nc' }), [
      'pattern: "ab\\nc" does not match the pattern; allowed a string of at most 8 characters matching [a-z*.]+',
    ]);
  });

  it('keeps hostile strings literally, newlines included, and refuses NUL', () => {
    const d = decls('  msg: { type: string }');
    const hostile = `it's "$(touch /tmp/x)" \`id\`; rm -rf * \n$HOME`;
    assert.deepEqual(validateParams(d, { msg: hostile }), { ok: true, values: { msg: hostile } });
    const nul = validateParams(d, { msg: 'a\0b' });
    assert.equal(nul.ok, false);
    assert.deepEqual(!nul.ok && nul.problems.map((p) => p.message), [
      '"a\\u0000b" contains a NUL byte, which no environment variable can hold',
    ]);
    const long = validateParams(d, { msg: 'x'.repeat(4097) });
    assert.match(
      !long.ok ? long.problems[0]!.message : '',
      /is 4097 characters long; at most 4096 are allowed$/,
    );
  });

  it('leaves a parameter without value or default unset', () => {
    assert.deepEqual(validateParams(decls('  a: { type: string }'), {}), { ok: true, values: {} });
  });

  it('refuses any value for a job without parameters', () => {
    assert.deepEqual(validateParams(undefined, {}), { ok: true, values: {} });
    const r = validateParams(undefined, { x: '1' });
    assert.deepEqual(!r.ok && r.problems, [
      { param: 'x', value: '1', message: 'unknown parameter; the job declares no parameters' },
    ]);
    const r2 = validateParams(decls('  a: { type: string }'), { zzz: '1' });
    assert.deepEqual(!r2.ok && r2.problems.map((p) => p.message), ['unknown parameter; the job declares a']);
  });

  it('throws ParamsError with a header and one line per problem', () => {
    assert.throws(
      () => requireValidParams('rotate-logs', decls(ROTATE), { keep_days: '120' }),
      (err: unknown) =>
        err instanceof ParamsError &&
        err.message ===
          [
            "invalid parameters for job 'rotate-logs'; nothing was started:",
            "  parameter 'keep_days': '120' is out of range; allowed an integer 1..90",
            "  parameter 'service': required; allowed one of nginx, postgres, app",
          ].join('\n'),
    );
  });
});

describe('params: schedules a job change breaks', () => {
  it('names the schedule, the parameter and why; ignores other jobs and valid schedules', () => {
    const params = decls(
      '  keep_days: { type: integer, max: 30 }\n  mode: { type: enum, values: [a, b], required: true }',
    );
    const broken = brokenSchedules({ id: 'rotate-logs', params }, [
      { id: 'ok', job: 'rotate-logs', params: { mode: 'a', keep_days: '30' } },
      { id: 'other', job: 'another', params: { nonsense: 'x' } },
      { id: 'nightly', job: 'rotate-logs', params: { mode: 'a', keep_days: '60' } },
      { id: 'hourly', job: 'rotate-logs', params: {} },
    ]);
    assert.deepEqual(broken.map(formatBrokenSchedule), [
      "schedule 'hourly': parameter 'mode': required; allowed one of a, b",
      "schedule 'nightly': parameter 'keep_days': '60' is out of range; allowed an integer <= 30",
    ]);
  });
});

describe('params: on the wire', () => {
  const request = (params: Record<string, string>) => ({
    v: 1,
    requestId: 'e1-0',
    execId: 'e1',
    jobId: 'j',
    jobVersion: '1',
    jobRevision: 1,
    trigger: { kind: 'adhoc', actor: 't' },
    script: { kind: 'inline', shell: 'sh', body: 'true' },
    timeoutMs: 1000,
    runAs: 'system',
    deadlineAt: '2030-01-01T00:00:00Z',
    params,
    target: { kind: 'all' },
    createdAt: '2030-01-01T00:00:00Z',
  });

  it('an ExecRequest carries declared-looking names and NUL-free values only (the agent guard)', () => {
    assert.deepEqual(parseExecRequest(request({ msg: '$(id)\n`id`' })).params, { msg: '$(id)\n`id`' });
    assert.throws(() => parseExecRequest(request({ 'PATH=/tmp': 'x' })), WireError);
    assert.throws(() => parseExecRequest(request({ 'x; rm': 'x' })), WireError);
    assert.throws(() => parseExecRequest(request({ msg: 'a\0b' })), /must not contain NUL/);
  });
});
