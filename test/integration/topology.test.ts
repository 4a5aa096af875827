import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  BUCKETS,
  OBJECT_STORES,
  STREAMS,
  ensureTopology,
  topologySpec,
  topologyStatus,
} from '../../src/kv/index.js';
import { startTestServer, TEST_TOPOLOGY, type TestServer } from '../helpers/nats-server.js';

describe('topology bootstrap against a real nats-server', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(async () => srv.stop());

  test('creates every stream, bucket and object store of DESIGN.md, then is a no-op', async () => {
    const nc = await srv.connect();
    const first = await ensureTopology(nc, TEST_TOPOLOGY);
    const names = first.map((c) => c.name).sort();
    const expected = [
      ...Object.values(STREAMS),
      ...Object.values(BUCKETS),
      ...Object.values(OBJECT_STORES),
    ].sort();
    assert.deepEqual(names, expected);
    assert.ok(
      first.every((c) => c.action === 'created'),
      JSON.stringify(first),
    );

    const second = await ensureTopology(nc, TEST_TOPOLOGY);
    assert.deepEqual(
      second.filter((c) => c.action !== 'unchanged'),
      [],
      'a second run must change nothing',
    );
  });

  test('every stream has max_age, max_bytes, discard old and a dedup window of at least 10 minutes', async () => {
    const nc = await srv.connect();
    await ensureTopology(nc, TEST_TOPOLOGY);
    const jsm = await jetstreamManager(nc);
    for (const name of Object.values(STREAMS)) {
      const { config } = await jsm.streams.info(name);
      assert.ok(config.max_age > 0, `${name} max_age`);
      assert.ok(config.max_bytes > 0, `${name} max_bytes`);
      assert.equal(config.discard, 'old', `${name} discard`);
      assert.ok(config.duplicate_window >= 10 * 60 * 1e9, `${name} duplicate_window`);
    }
    // Jobs must never age out of their bucket.
    const jobs = await jsm.streams.info('KV_jobs');
    assert.equal(jobs.config.max_age, 0);
    assert.equal(jobs.config.max_msgs_per_subject, 64);
  });

  test("EXEC takes a consumer per agent past nats-server's default cap of 1,000", async () => {
    const nc = await srv.connect();
    await ensureTopology(nc, TEST_TOPOLOGY);
    const jsm = await jetstreamManager(nc);
    for (let i = 0; i < 1_001; i++) {
      await jsm.consumers.add('EXEC', {
        durable_name: `agent-cap-${i}`,
        ack_policy: AckPolicy.Explicit,
        filter_subject: `exec.pc.cap-${i}`,
      });
    }
    assert.equal((await jsm.streams.info('EXEC')).state.consumer_count, 1_001);
    for (let i = 0; i < 1_001; i++) await jsm.consumers.delete('EXEC', `agent-cap-${i}`);
  });

  test('a drifted config is reconciled and reported', async () => {
    const nc = await srv.connect();
    await ensureTopology(nc, TEST_TOPOLOGY);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('RESULTS');
    const want = info.config.max_bytes;
    await jsm.streams.update('RESULTS', { ...info.config, max_bytes: want * 2 });
    const kv = await jsm.streams.info('KV_jobs');
    await jsm.streams.update('KV_jobs', { ...kv.config, max_msgs_per_subject: 5 });

    const changes = await ensureTopology(nc, TEST_TOPOLOGY);
    const results = changes.find((c) => c.name === 'RESULTS');
    assert.equal(results?.action, 'updated');
    assert.deepEqual(results?.changes, [`max_bytes: ${want * 2} -> ${want}`]);
    assert.deepEqual(changes.find((c) => c.name === 'jobs')?.changes, ['max_msgs_per_subject: 5 -> 64']);
    assert.equal((await jsm.streams.info('RESULTS')).config.max_bytes, want);
  });

  test('status shows usage against limits', async () => {
    const nc = await srv.connect();
    await ensureTopology(nc, TEST_TOPOLOGY);
    const js = jetstream(nc);
    await js.publish('audit.job.create', JSON.stringify({ hello: 'world' }));
    const rows = await topologyStatus(nc, TEST_TOPOLOGY);
    assert.equal(rows.length, topologySpec(TEST_TOPOLOGY).length);
    assert.ok(rows.every((r) => r.exists));
    const audit = rows.find((r) => r.name === 'AUDIT');
    assert.ok(audit && audit.messages >= 1 && audit.bytes > 0 && audit.usedPercent !== null);
  });
});
