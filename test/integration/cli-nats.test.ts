import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT } from '../../src/cli/exit-codes.js';
import { baton } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/nats-server.js';

const SMALL = { BATON_LIMIT_SCALE: String(1 / 256) };

describe('baton nats setup / status', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(async () => srv.stop());

  test('setup twice: everything created, then nothing changed; status lists every resource', async () => {
    const env = { ...SMALL, BATON_NATS_URL: srv.url };
    const first = await baton(['nats', 'setup', '--json'], { env });
    assert.equal(first.code, 0, first.stderr);
    const created = JSON.parse(first.stdout) as { name: string; action: string }[];
    assert.equal(created.length, 21);
    assert.ok(created.every((c) => c.action === 'created'));

    const second = await baton(['nats', 'setup'], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /0 created, 0 updated, 21 unchanged/);

    const status = await baton(['--server', srv.url, 'nats', 'status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    const rows = JSON.parse(status.stdout) as { name: string; exists: boolean; maxBytes: number }[];
    assert.equal(rows.length, 21);
    assert.ok(rows.every((r) => r.exists && r.maxBytes > 0));

    const table = await baton(['--server', srv.url, 'nats', 'status']);
    assert.match(table.stdout, /^KIND\s+NAME\s+MSGS\s+USED\s+LIMIT/m);
    assert.match(table.stdout, /stream\s+EXEC/);
    assert.match(table.stdout, /object\s+agent_releases/);
  });

  test('a bad flag value is a usage error that quotes it', async () => {
    const r = await baton(['--server', srv.url, 'nats', 'setup', '--replicas', 'two']);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.stderr, /--replicas: 'two' is not a positive whole number/);
  });

  test('a dead server is reported clearly with its own exit code', async () => {
    const dead = await startTestServer();
    const url = dead.url;
    await dead.stop();
    const r = await baton(['nats', 'status'], { env: { BATON_NATS_URL: url } });
    assert.equal(r.code, EXIT.unavailable);
    assert.match(r.stderr, new RegExp(`cannot connect to NATS at ${url.replace(/[.]/g, '\\.')}`));
  });
});
