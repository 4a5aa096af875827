// The agent's journal on a real folder: writes of one entry that overlap (the pid noted at spawn,
// then the finished state of a script that ended at once) all succeed and land in the order they
// were asked. Before, both used one temp file name: the second rename failed with ENOENT, the
// request's task died and its result waited in the outbox for the next idle flush (CI, bench).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../src/agent/journal.js';
import { writeFileDurable } from '../../src/agent/durable-file.js';
import { parseExecRequest } from '../../src/wire/index.js';

const REQUEST = `{"v":1,"requestId":"01HWZ3N6Y8P0K6R5T4V3X2W1QA","execId":"01HWZ3N6Y8P0K6R5T4V3X2W1QB","jobId":"hello","jobVersion":"1","jobRevision":1,"trigger":{"kind":"adhoc","actor":"test"},"script":{"kind":"inline","shell":"sh","body":"true"},"timeoutMs":60000,"deadlineAt":"2030-01-01T00:00:00Z","target":{"kind":"pc","pcId":"pc-1"},"runAs":"system","createdAt":"2024-05-01T02:00:00.123Z","overlap":"allow"}`;

test('overlapping writes of one journal entry all succeed; the last one asked for is on disk', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'baton-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const journal = new Journal(dir);
  await journal.init();
  const request = parseExecRequest(REQUEST);
  const acceptedAt = new Date().toISOString();
  for (let round = 0; round < 20; round++) {
    await Promise.all([
      journal.put({ request, state: 'started', acceptedAt, startedAt: acceptedAt, pid: 4242 }),
      journal.put({ request, state: 'finished', acceptedAt, finishedAt: acceptedAt }),
    ]);
    const entry = await journal.get(request.requestId);
    assert.equal(entry?.state, 'finished');
    assert.equal(entry?.pid, undefined);
  }
  await Promise.all([
    journal.put({ request, state: 'accepted', acceptedAt }),
    journal.remove(request.requestId),
  ]);
  assert.equal(await journal.get(request.requestId), null);
  assert.deepEqual(await readdir(dir), [], 'no temp files left behind');
});

test('writeFileDurable: concurrent writes of one file never share a temp file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'baton-durable-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'x.json');
  await Promise.all(Array.from({ length: 10 }, (_, i) => writeFileDurable(path, String(i))));
  assert.deepEqual(await readdir(dir), ['x.json']);
});
