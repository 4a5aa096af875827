// The API enforces the same job/schedule parameter rules as the CLI (both go through
// src/kv/catalog-writes.ts): an edit or apply that newly breaks a schedule's values is refused
// with 409, `force` saves it and reports the breakage.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, type ApiStack } from '../helpers/backend.js';

const job = (max: number) => `kind: job
id: rotate
version: "1"
params:
  keep_days: { type: integer, min: 1, max: ${max}, default: 7 }
execute:
  shell: sh
  script: echo "$BATON_PARAM_KEEP_DAYS"
  timeout: 30s
`;
const schedule = `kind: schedule
id: nightly
job: rotate
target: { all: true }
cron: "0 3 * * *"
params: { keep_days: "60" }
`;

describe('API: job params versus schedules', () => {
  let api: ApiStack;
  before(async () => {
    api = await startApi();
  });
  after(async () => api?.stop());

  test('apply and PUT refuse a job change that breaks a schedule; force saves and reports it', async () => {
    const op = api.tokens.operator;
    const created = await api.req('POST', '/api/apply', {
      token: op,
      body: { yaml: `${job(90)}---\n${schedule}` },
    });
    assert.equal(created.status, 200, created.text);

    const refusedApply = await api.req('POST', '/api/apply', { token: op, body: { yaml: job(30) } });
    assert.equal(refusedApply.status, 409, refusedApply.text);
    assert.match(refusedApply.text, /schedule 'nightly': parameter 'keep_days': '60' is out of range/);

    const current = await api.req<{ revision: number }>('GET', '/api/jobs/rotate', { token: op });
    const refusedEdit = await api.req('PUT', '/api/jobs/rotate', {
      token: op,
      body: { yaml: job(30), baseRevision: current.body.revision },
    });
    assert.equal(refusedEdit.status, 409, refusedEdit.text);
    assert.match(refusedEdit.text, /the new params break schedule 'nightly'/);
    // Nothing changed.
    const still = await api.req<{ revision: number; yaml: string }>('GET', '/api/jobs/rotate', { token: op });
    assert.equal(still.body.revision, current.body.revision);
    assert.equal(still.body.yaml, job(90));

    const forced = await api.req<{ warnings: string[] }>('PUT', '/api/jobs/rotate', {
      token: op,
      body: { yaml: job(30), baseRevision: current.body.revision, force: true },
    });
    assert.equal(forced.status, 200, forced.text);
    assert.equal(forced.body.warnings.length, 1);
    assert.match(forced.body.warnings[0]!, /nightly/);
  });
});
