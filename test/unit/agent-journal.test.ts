// The agent's journal on a real folder: writes of one entry that overlap (the pid noted at spawn,
// then the finished state of a script that ended at once) all succeed and land in the order they
// were asked. Before, both used one temp file name: the second rename failed with ENOENT, the
// request's task died and its result waited in the outbox for the next idle flush (CI, bench).
// A run's later steps are appended lines: a restart reads the entry they made, and a step torn by
// a crash counts as never written.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../src/agent/journal.js';
import { writeFileDurable } from '../../src/agent/durable-file.js';
import { parseExecRequest } from '../../src/wire/index.js';

const REQUEST = `{"v":1,"requestId":"01HWZ3N6Y8P0K6R5T4V3X2W1QA","execId":"01HWZ3N6Y8P0K6R5T4V3X2W1QB","jobId":"hello","jobVersion":"1","jobRevision":1,"trigger":{"kind":"adhoc","actor":"test"},"script":{"kind":"inline","shell":"sh","body":"true"},"timeoutMs":60000,"deadlineAt":"2030-01-01T00:00:00Z","target":{"kind":"pc","pcId":"pc-1"},"runAs":"system","createdAt":"2024-05-01T02:00:00.123Z","overlap":"allow"}`;

/** A journal over a new temp folder, removed when the test ends. */
async function freshJournal(t: TestContext): Promise<{ dir: string; journal: Journal }> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const journal = new Journal(dir);
  await journal.init();
  return { dir, journal };
}

test('overlapping writes of one journal entry all succeed; the last one asked for is on disk', async (t) => {
  const { dir, journal } = await freshJournal(t);
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

test('later steps are appended; a fresh journal over the folder (a restart) reads the entry they made', async (t) => {
  const { dir, journal } = await freshJournal(t);
  const request = parseExecRequest(REQUEST);
  const at = '2026-11-24T22:00:00.000Z';
  await journal.put({ request, state: 'accepted', acceptedAt: at });
  await journal.update(request.requestId, { state: 'started', attempt: 1, startedAt: at });
  await journal.update(request.requestId, { pid: 4242 });
  const file = join(dir, `${request.requestId}.json`);
  assert.equal((await readFile(file, 'utf8')).split('\n').length, 3, 'one line per step');

  const restarted = new Journal(dir);
  await restarted.init();
  const { entries } = await restarted.all();
  assert.deepEqual(
    entries.map((e) => [e.state, e.pid, e.startedAt]),
    [['started', 4242, at]],
  );
  await restarted.update(request.requestId, { state: 'finished', finishedAt: at });
  const again = new Journal(dir);
  await again.init();
  assert.equal((await again.get(request.requestId))?.state, 'finished');
  assert.equal(await again.get('01HWZ3N6Y8P0K6R5T4V3X2W1QZ'), null, 'a request it never saw');
});

test('a step torn by a crash never happened: the entry is what the complete steps made it', async (t) => {
  const { dir, journal } = await freshJournal(t);
  const request = parseExecRequest(REQUEST);
  const at = '2026-11-24T22:00:00.000Z';
  await journal.put({ request, state: 'accepted', acceptedAt: at });
  // The agent died while appending `started`: its sync never returned, so the script never ran.
  const file = join(dir, `${request.requestId}.json`);
  await appendFile(file, '\n{"state":"star');
  const restarted = new Journal(dir);
  await restarted.init();
  assert.equal((await restarted.all()).entries[0]?.state, 'accepted', 'runs after the restart');
  // Later steps land after the torn one and count.
  await restarted.update(request.requestId, { state: 'started', attempt: 1, startedAt: at });
  const again = new Journal(dir);
  await again.init();
  assert.equal((await again.get(request.requestId))?.state, 'started');
  // An entry written by an agent before steps were appended (one JSON object) reads the same.
  await writeFile(file, JSON.stringify({ request, state: 'finished', acceptedAt: at, finishedAt: at }));
  const old = new Journal(dir);
  await old.init();
  assert.equal((await old.get(request.requestId))?.state, 'finished');
});

test('pruneFinished removes finished entries past the cutoff, keeps newer and unfinished ones', async (t) => {
  const { dir, journal } = await freshJournal(t);
  const base = parseExecRequest(REQUEST);
  const request = (n: string) => ({ ...base, requestId: `${base.requestId.slice(0, -1)}${n}` });
  const day = 24 * 60 * 60 * 1000;
  const now = Date.parse('2030-01-10T00:00:00.000Z');
  const at = (ms: number) => new Date(ms).toISOString();
  const old = request('1');
  const recent = request('2');
  const running = request('3');
  await journal.put({ request: old, state: 'accepted', acceptedAt: at(now - 3 * day) });
  await journal.update(old.requestId, { state: 'finished', finishedAt: at(now - 2 * day) });
  await journal.put({
    request: recent,
    state: 'finished',
    acceptedAt: at(now - day),
    finishedAt: at(now - 1000),
  });
  await journal.put({
    request: running,
    state: 'started',
    acceptedAt: at(now - 3 * day),
    startedAt: at(now - 3 * day),
  });

  assert.equal(await journal.pruneFinished(now - day), 1);
  assert.equal(await journal.get(old.requestId), null);
  assert.equal((await journal.get(recent.requestId))?.state, 'finished');
  assert.equal((await journal.get(running.requestId))?.state, 'started');
  assert.deepEqual(
    (await readdir(dir)).sort(),
    [`${recent.requestId}.json`, `${running.requestId}.json`].sort(),
  );
  assert.equal(await journal.pruneFinished(now - day), 0);
});
