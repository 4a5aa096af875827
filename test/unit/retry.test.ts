// Retries: the manifest's `retry` (parsed, located errors, stored shape) and the agent's rule for
// when another attempt runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { nextAttemptAt, retryOutcome } from '../../src/agent/retry.js';
import { ManifestError } from '../../src/wire/manifest-error.js';
import { parseManifestFile } from '../../src/wire/manifest-file.js';
import { resultIdFor } from '../../src/wire/index.js';

const job = (retry: string) =>
  `kind: job\nid: backup\nversion: "1"\n${retry}execute:\n  shell: sh\n  script: echo hi\n  timeout: 30s\n`;

function issues(text: string): string[] {
  try {
    parseManifestFile(text, 'jobs/backup.yaml');
  } catch (err) {
    assert.ok(err instanceof ManifestError, String(err));
    return err.message.split('\n');
  }
  assert.fail('expected a ManifestError');
}

describe('manifest retry', () => {
  it('is stored in milliseconds with the default outcome agent_restarted', () => {
    const m = parseManifestFile(job('retry: { max: 2, backoff: 30s }\n'), 'jobs/backup.yaml').jobs[0]!
      .manifest;
    assert.deepEqual(m.retry, { max: 2, backoffMs: 30_000, on: ['agent_restarted'] });
  });

  it('lists outcomes once, in a stable order', () => {
    const m = parseManifestFile(
      job('retry: { max: 1, backoff: 1m, on: [timeout, failed, timeout, agent_restarted] }\n'),
      'jobs/backup.yaml',
    ).jobs[0]!.manifest;
    assert.deepEqual(m.retry?.on, ['agent_restarted', 'failed', 'timeout']);
  });

  it('is absent unless declared: a run is never repeated by default', () => {
    assert.equal(parseManifestFile(job(''), 'jobs/backup.yaml').jobs[0]!.manifest.retry, undefined);
  });

  it('refuses bad policies with their line', () => {
    assert.deepEqual(issues(job('retry:\n  max: 0\n  backoff: 2h\n  on: [killed]\n  retires: 3\n')), [
      'jobs/backup.yaml:5: retry.max: must be an integer 1..10',
      "jobs/backup.yaml:6: retry.backoff: '2h' is out of range; allowed 1s..1h",
      "jobs/backup.yaml:7: retry.on[0]: 'killed' is not allowed; expected one of agent_restarted, failed, timeout",
      "jobs/backup.yaml:8: retry: unknown key 'retires'",
    ]);
    assert.deepEqual(issues(job('retry: { backoff: 10s }\n')), ['jobs/backup.yaml:4: retry.max: required']);
  });
});

describe('nextAttemptAt', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');
  const request = (
    on: ('agent_restarted' | 'failed' | 'timeout')[],
    deadline = '2026-01-01T01:00:00.000Z',
  ) => ({
    retry: { max: 2, backoffMs: 10_000, on },
    deadlineAt: deadline,
  });

  it('retries only the outcomes the policy lists', () => {
    assert.equal(nextAttemptAt(request(['agent_restarted']), 1, 'failed', undefined, now), null);
    assert.deepEqual(
      nextAttemptAt(request(['agent_restarted']), 1, 'error', 'agent_restarted', now),
      new Date('2026-01-01T00:00:10.000Z'),
    );
    assert.equal(
      nextAttemptAt(request(['agent_restarted', 'failed', 'timeout']), 1, 'ok', undefined, now),
      null,
    );
    assert.equal(
      nextAttemptAt(request(['agent_restarted', 'failed', 'timeout']), 1, 'killed', undefined, now),
      null,
    );
    assert.equal(
      nextAttemptAt(request(['agent_restarted', 'failed', 'timeout']), 1, 'skipped', 'revoked', now),
      null,
    );
    assert.equal(nextAttemptAt({ deadlineAt: '2026-01-02T00:00:00Z' }, 1, 'failed', undefined, now), null);
  });

  it('doubles the backoff and stops after max retries', () => {
    const r = request(['timeout']);
    assert.deepEqual(nextAttemptAt(r, 1, 'timeout', undefined, now), new Date('2026-01-01T00:00:10.000Z'));
    assert.deepEqual(nextAttemptAt(r, 2, 'timeout', undefined, now), new Date('2026-01-01T00:00:20.000Z'));
    assert.equal(nextAttemptAt(r, 3, 'timeout', undefined, now), null, 'attempt 3 was the second retry');
  });

  it('never schedules an attempt at or after the deadline', () => {
    assert.equal(
      nextAttemptAt(request(['failed'], '2026-01-01T00:00:10.000Z'), 1, 'failed', undefined, now),
      null,
    );
  });

  it('maps statuses to outcomes', () => {
    assert.equal(retryOutcome('error', 'other'), null);
    assert.equal(retryOutcome('timeout', undefined), 'timeout');
  });
});

describe('result ids of attempts', () => {
  it('keeps the two-part id for attempt 1 and appends the attempt after', () => {
    assert.equal(resultIdFor('01HWZ', 'web-01'), '01HWZ.web-01');
    assert.equal(resultIdFor('01HWZ', 'web-01', 1), '01HWZ.web-01');
    assert.equal(resultIdFor('01HWZ', 'web-01', 2), '01HWZ.web-01.2');
  });
});
