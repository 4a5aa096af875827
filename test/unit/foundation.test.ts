import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseVersion, versionAtLeast } from '../../src/shared/nats-binary.js';
import { resolveConnection, DEFAULT_NATS_URL } from '../../src/cli/context.js';
import { formatAge, formatBytes, formatTable } from '../../src/cli/output.js';
import { topologyOptions } from '../../src/cli/nats-commands.js';
import { DEFAULT_LIMITS, diffFields, reservedBytes, scaleLimits, topologySpec } from '../../src/kv/index.js';

describe('nats-server version check', () => {
  test('parses the --version output', () => {
    assert.deepEqual(parseVersion('nats-server: v2.15.1'), [2, 15, 1]);
    assert.equal(parseVersion('garbage'), null);
  });
  test('2.9 is too old, 2.10 and later are fine', () => {
    assert.equal(versionAtLeast('2.9.25', '2.10.0'), false);
    assert.equal(versionAtLeast('2.10.0', '2.10.0'), true);
    assert.equal(versionAtLeast('2.15.1', '2.10.0'), true);
    assert.equal(versionAtLeast('3.0.0', '2.10.0'), true);
    assert.equal(versionAtLeast('nonsense', '2.10.0'), false);
  });
});

describe('connection resolution: flag > env > context file > default', () => {
  test('defaults without a context file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-ctx-'));
    const r = resolveConnection({}, {}, dir);
    assert.equal(r.natsUrl, DEFAULT_NATS_URL);
    assert.equal(r.from.nats, 'default');
    assert.equal(r.token, null);
  });
  test('the context file of a parent folder is found, env and flags override it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-ctx-'));
    await mkdir(join(dir, '.baton'));
    await mkdir(join(dir, 'jobs', 'linux'), { recursive: true });
    const ctx = {
      natsUrl: 'nats://127.0.0.1:1111',
      apiUrl: 'http://127.0.0.1:2222',
      token: 'tok',
      dataDir: dir,
      pid: 1,
      startedAt: '2026-11-24T00:00:00Z',
    };
    await writeFile(join(dir, '.baton', 'context.json'), JSON.stringify(ctx));
    const sub = join(dir, 'jobs', 'linux');
    assert.equal(resolveConnection({}, {}, sub).natsUrl, 'nats://127.0.0.1:1111');
    assert.equal(resolveConnection({}, {}, sub).apiUrl, 'http://127.0.0.1:2222');
    assert.equal(resolveConnection({}, { BATON_NATS_URL: 'nats://env:1' }, sub).natsUrl, 'nats://env:1');
    assert.equal(resolveConnection({}, { BATON_NATS_URL: 'nats://env:1' }, sub).from.nats, 'BATON_NATS_URL');
    assert.equal(
      resolveConnection({ server: 'nats://flag:1' }, { BATON_NATS_URL: 'nats://env:1' }, sub).natsUrl,
      'nats://flag:1',
    );
    assert.equal(resolveConnection({}, { BATON_TOKEN: 'other' }, sub).token, 'other');
  });
  test("the context's credentials, CA, authority and token go only to the context's own servers", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-ctx-'));
    await mkdir(join(dir, '.baton'));
    const ctx = {
      natsUrl: 'nats://127.0.0.1:1111',
      apiUrl: 'http://127.0.0.1:2222',
      token: 'tok',
      credsFile: '/ctx/admin.creds',
      caFile: '/ctx/ca.pem',
      authorityDir: '/ctx/authority',
      dataDir: dir,
      pid: 1,
      startedAt: '2026-11-24T00:00:00Z',
    };
    await writeFile(join(dir, '.baton', 'context.json'), JSON.stringify(ctx));
    const own = resolveConnection({}, {}, dir);
    assert.deepEqual(
      [own.credsFile, own.caFile, own.authorityDir, own.token],
      ['/ctx/admin.creds', '/ctx/ca.pem', '/ctx/authority', 'tok'],
    );
    assert.equal(
      resolveConnection({ server: 'nats://127.0.0.1:1111' }, {}, dir).credsFile,
      '/ctx/admin.creds',
    );
    // Another server (an agent started with BATON_NATS_URL inside a project folder): no admin creds.
    const other = resolveConnection({}, { BATON_NATS_URL: 'nats://other:4222' }, dir);
    assert.deepEqual([other.credsFile, other.caFile, other.authorityDir], [null, null, null]);
    assert.equal(other.from.creds, 'default');
    assert.equal(resolveConnection({ api: 'http://other:1' }, {}, dir).token, null);
    assert.equal(
      resolveConnection({ creds: '/mine.creds' }, { BATON_NATS_URL: 'nats://other:4222' }, dir).credsFile,
      '/mine.creds',
    );
  });
  test('a corrupt context file is a clear usage error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-ctx-'));
    await mkdir(join(dir, '.baton'));
    await writeFile(join(dir, '.baton', 'context.json'), '{not json');
    assert.throws(() => resolveConnection({}, {}, dir), /context\.json: not a valid context file/);
  });
});

describe('topology limits', () => {
  test('every stream has an age and byte limit; state buckets never age out', () => {
    for (const spec of topologySpec()) {
      assert.ok(spec.fields.max_bytes > 0, spec.name);
      if (spec.kind === 'stream') assert.ok(spec.fields.max_age > 0, spec.name);
      if (spec.kind === 'kv') assert.equal(spec.fields.max_age, 0, spec.name);
    }
  });
  test('scaling changes bytes only and never below 1 MiB', () => {
    const small = scaleLimits(DEFAULT_LIMITS, 1 / 1_000_000);
    assert.equal(small.streams.EXEC.maxBytes, 1024 * 1024);
    assert.equal(small.streams.EXEC.maxAgeMs, DEFAULT_LIMITS.streams.EXEC.maxAgeMs);
    assert.ok(reservedBytes(scaleLimits(DEFAULT_LIMITS, 2)) > reservedBytes(DEFAULT_LIMITS));
    assert.throws(() => scaleLimits(DEFAULT_LIMITS, 0), /must be > 0/);
  });
  test('topology options from flags and env, with precise errors', () => {
    assert.equal(topologyOptions({}, {}).replicas, 1);
    assert.equal(topologyOptions({}, { BATON_REPLICAS: '3' }).replicas, 3);
    assert.throws(
      () => topologyOptions({ replicas: '2' }, {}),
      /--replicas: '2' is not allowed; use 1, 3 or 5/,
    );
    assert.throws(
      () => topologyOptions({ limitScale: '-1' }, {}),
      /--limit-scale: '-1' is not a positive number/,
    );
  });
  test('diffFields names each drifted field with old and new value', () => {
    const want = { max_age: 0, max_bytes: 10, num_replicas: 1, description: 'd' };
    assert.deepEqual(diffFields({ max_age: 0, max_bytes: 10, num_replicas: 1, description: 'd' }, want), []);
    assert.deepEqual(diffFields({ max_age: 0, max_bytes: 20, num_replicas: 1, description: 'd' }, want), [
      'max_bytes: 20 -> 10',
    ]);
  });
});

describe('CLI output', () => {
  test('tables align columns under their headers', () => {
    const out = formatTable(
      [
        { a: 'x', n: 5 },
        { a: 'longer', n: 123 },
      ],
      [
        { header: 'NAME', value: (r) => r.a },
        { header: 'N', value: (r) => r.n, align: 'right' },
      ],
    );
    assert.equal(out, 'NAME      N\nx         5\nlonger  123');
  });
  test('bytes and ages read like a person would write them', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatAge(0), 'none');
    assert.equal(formatAge(90_061_000), '1d1h1m1s');
  });
});
