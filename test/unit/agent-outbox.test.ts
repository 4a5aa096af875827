// The agent's result outbox on a real folder, across a restart: the entries an earlier run left
// are read back in order with their result text as written; an unreadable one is moved to
// quarantine and reported with the reason, and does not keep the others from being delivered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox, type OutboxEntry } from '../../src/agent/outbox.js';

const entry = (n: number): OutboxEntry => ({
  resultId: `req-${n}.pc-1`,
  requestId: `req-${n}`,
  result: `{"resultId":"req-${n}.pc-1","requestId":"req-${n}","status":"ok"}`,
  uploads: [],
  messages: [],
  attempts: 0,
});

test('a restarted outbox reads its entries back and quarantines the unreadable ones with a reason', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'baton-outbox-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = new Outbox(dir);
  assert.deepEqual(await first.init(), []);
  await first.add(entry(1));
  await first.add(entry(2));
  await writeFile(join(dir, 'torn.json'), '{"result":{"resultId"');
  await writeFile(join(dir, 'no-request.json'), '{"result":{"status":"ok"},"resultId":"x.pc-1"}');

  const again = new Outbox(dir);
  const quarantined = await again.init();
  assert.deepEqual(
    quarantined.map((q) => q.file),
    [join(dir, 'quarantine', 'no-request.json'), join(dir, 'quarantine', 'torn.json')],
  );
  assert.match(quarantined[0]!.reason, /result\.requestId: expected a string/);
  assert.match(quarantined[1]!.reason, /JSON/);
  assert.deepEqual((await readdir(join(dir, 'quarantine'))).sort(), ['no-request.json', 'torn.json']);

  assert.deepEqual(again.pending(), [entry(1), entry(2)]);
  const delivered: string[] = [];
  const round = await again.flushOnce({
    deliver: async (e) => void delivered.push(e.result),
    isTransient: () => false,
    onQuarantine: () => assert.fail('nothing readable is quarantined'),
  });
  assert.deepEqual(round, { delivered: 2, remaining: 0, retryInMs: 0 });
  assert.deepEqual(delivered, [entry(1).result, entry(2).result]);
  assert.deepEqual((await readdir(dir)).sort(), ['quarantine']);
});
