// The hand-written ExecResult reader (fastExecResult) next to the zod schema it stands in for on
// the projector's hot path: it must return exactly what the schema returns, or decline, and never
// accept a value the schema rejects.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';

import { FAST_READER_CURRENT, fastExecResult } from '../../src/wire/exec-result.js';
import { ExecResult, inlineOutput, objectOutput, parseExecResult } from '../../src/wire/index.js';

const text = (s: string) => new TextEncoder().encode(s);
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

const base = {
  v: 1,
  resultId: '01HWZ3N6Y8P0K6R5T4V3X2W1QA.web-01',
  requestId: '01HWZ3N6Y8P0K6R5T4V3X2W1QA',
  execId: '01HWZ3N6Y8P0K6R5T4V3X2W1QB',
  pcId: 'web-01',
  jobId: 'disk-usage',
  jobVersion: '3',
  status: 'ok',
  exitCode: 0,
  stdout: inlineOutput(text('Filesystem  Size  Used\n/dev/sda1  100G  50G ✓\n')),
  stderr: inlineOutput(new Uint8Array(0)),
  startedAt: '2025-01-02T03:04:03.800Z',
  finishedAt: '2025-01-02T03:04:05.000Z',
  durationMs: 1200,
};

/** A deep copy of `base` with `value` at `path` (`undefined` removes the field). */
function withField(path: readonly string[], value: unknown): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

/**
 * Both readers agree on the payload `value` makes: same output (fields and their order), or the
 * fast one declines.
 */
function assertAgrees(value: unknown, label: string): 'same' | 'declined' {
  const json: unknown = JSON.parse(JSON.stringify(value));
  const schema = ExecResult.safeParse(json);
  const fast = fastExecResult(json);
  if (fast === undefined) return 'declined';
  assert.ok(schema.success, `${label}: the fast reader accepted what the schema rejects`);
  assert.deepStrictEqual(fast, schema.data, label);
  assert.equal(JSON.stringify(fast), JSON.stringify(schema.data), `${label}: field order`);
  return 'same';
}

const ACCEPTED: Record<string, unknown> = {
  'inline output and empty stderr': base,
  'an object pointer': withField(
    ['stdout'],
    objectOutput(300_000, sha('x'), { bucket: 'result_output', name: 'r/web-01/stdout' }),
  ),
  'a skip: no startedAt, a reason, no exit code': {
    ...withField(['startedAt'], undefined),
    status: 'skipped',
    exitCode: null,
    reason: 'deadline_passed',
    durationMs: 0,
  },
  'emitted with capped': { ...base, emitted: { events: 3, invalid: 1, capped: 2 } },
  'emitted without capped': { ...base, emitted: { events: 0, invalid: 0 } },
  'a retried attempt': {
    ...base,
    resultId: `${base.resultId}.2`,
    status: 'failed',
    exitCode: 1,
    attempt: 2,
    retryAt: '2025-01-02T03:04:35.000Z',
  },
  'dropped output': withField(['stdout', 'dropped'], 4096),
  'unknown fields at every level (dropped)': {
    ...withField(['stdout', 'inline', 'lang'], 'en'),
    newField: { x: 1 },
    emitted: { events: 1, invalid: 0, later: true },
  },
  'timestamps without fraction or with more digits': {
    ...base,
    startedAt: '2024-02-29T23:59:59Z',
    finishedAt: '2024-03-01T00:00:00.123456Z',
  },
  'a lone surrogate, hashed as U+FFFD like the schema does': withField(['stdout'], {
    bytes: 3,
    sha256: sha(Buffer.from('\ud800', 'utf8')),
    inline: { encoding: 'utf8', data: '\ud800' },
  }),
};

describe('fastExecResult', () => {
  it('knows every field of the schema (else it turns itself off)', () => {
    assert.equal(FAST_READER_CURRENT, true, 'update fastExecResult to the changed schema');
  });

  for (const [label, value] of Object.entries(ACCEPTED)) {
    it(`returns what the schema returns: ${label}`, () => {
      assert.ok(ExecResult.safeParse(value).success, `${label} must be valid`);
      assert.equal(assertAgrees(value, label), 'same');
    });
  }

  it('declines base64 output, which parseExecResult still reads with the schema', () => {
    const value = withField(['stdout'], inlineOutput(new Uint8Array([0xff, 0x00, 0xfe])));
    assert.equal(fastExecResult(value), undefined);
    assert.deepEqual(parseExecResult(JSON.stringify(value)).stdout, value['stdout']);
  });

  // Every field replaced by every odd value: whatever the schema says, the fast reader never
  // accepts more, and when it accepts, it returns the same thing.
  const ODD: unknown[] = [
    undefined, null, true, 0, -1, 1.5, 2 ** 53, 1, 11, 12, '', 'x', 'x.y', 'all', 'Group', 'a b', 'ok', 'bogus',
    'Deadline Passed', '2025-02-29T00:00:00Z', '2025-01-02T03:04:05+01:00', '2025-01-02 03:04:05Z',
    '2025-01-02T24:00:00Z', 'utf8', 'base64', 'a'.repeat(129), sha('y'), {}, [], [1],
    { bytes: 0, sha256: sha('') }, { events: -1, invalid: 0 }, { bucket: '', name: 'n' },
  ]; // prettier-ignore
  const PATHS = [
    ...Object.keys(base).map((k) => [k]),
    ['reason'],
    ['emitted'],
    ['emitted', 'capped'],
    ['attempt'],
    ['retryAt'],
    ...['bytes', 'sha256', 'inline', 'object', 'dropped'].map((k) => ['stdout', k]),
    ['stdout', 'inline', 'encoding'],
    ['stdout', 'inline', 'data'],
    ...['bytes', 'sha256', 'inline', 'object'].map((k) => ['stderr', k]),
  ];

  it('never accepts a value the schema rejects (every field x odd values)', () => {
    let same = 0;
    let declined = 0;
    for (const path of PATHS) {
      for (const odd of ODD) {
        const value =
          path[0] === 'emitted' && path.length > 1
            ? { ...base, emitted: { events: 1, invalid: 0, capped: odd } }
            : withField(path, odd);
        const label = `${path.join('.')} = ${JSON.stringify(odd)?.slice(0, 40)}`;
        if (assertAgrees(value, label) === 'same') same++;
        else {
          declined++;
          // Declined values still get the schema's verdict and message.
          const payload = JSON.stringify(value);
          if (!ExecResult.safeParse(JSON.parse(payload)).success) {
            assert.throws(() => parseExecResult(payload), /^WireError: invalid ExecResult: /);
          }
        }
      }
    }
    // Both outcomes happen, so the loop tests something either way.
    assert.ok(same > 10 && declined > 100, `same ${same}, declined ${declined}`);
  });

  it('checks the inline data against bytes and sha256', () => {
    const data = 'hello\n';
    const good = { bytes: 6, sha256: sha(data), inline: { encoding: 'utf8', data } };
    assert.equal(assertAgrees(withField(['stdout'], good), 'good'), 'same');
    for (const bad of [
      { ...good, bytes: 7 },
      { ...good, sha256: sha('other') },
    ]) {
      const payload = JSON.stringify(withField(['stdout'], bad));
      assert.equal(fastExecResult(JSON.parse(payload)), undefined);
      assert.throws(() => parseExecResult(payload), /stdout\.(bytes|sha256)/);
    }
  });
});
