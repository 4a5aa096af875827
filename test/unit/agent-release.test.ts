// Self-update pieces that need no NATS: the config keys (layered, validated, resolved) and the
// bundle checks (with the system's tar, as agents use it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigLayer, mergeAgentConfig, resolveAgentConfig } from '../../src/wire/index.js';
import { inspectBundle, unpackBundle } from '../../src/shared/agent-bundle.js';

test('target_version is layered like any key; none resolves to null; bad values are refused', () => {
  const none = mergeAgentConfig([{ key: 'global', layer: {} }]);
  assert.equal(resolveAgentConfig(none.values).targetVersion, null);
  assert.equal(resolveAgentConfig(none.values).updateJitterMs, 300_000);
  const m = mergeAgentConfig([
    { key: 'global', layer: { target_version: '0.2.0', update_jitter: '30s' } },
    { key: 'groups.canary', layer: { target_version: '0.3.0-rc.1' } },
  ]);
  assert.equal(m.sources.target_version, 'groups.canary');
  assert.deepEqual(
    [resolveAgentConfig(m.values).targetVersion, resolveAgentConfig(m.values).updateJitterMs],
    ['0.3.0-rc.1', 30_000],
  );
  const bad = AgentConfigLayer.safeParse({ target_version: '../etc' });
  assert.equal(bad.success, false);
  assert.match(bad.error?.issues[0]?.message ?? '', /must be a version like '0\.2\.0'/);
  assert.equal(AgentConfigLayer.safeParse({ update_jitter: '2d' }).success, false);
});

test('a bundle needs package.json with a version and the worker entry dist/src/cli/agent-worker.js at its root', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'baton-bundle-'));
  try {
    const pkg = join(dir, 'pkg');
    await mkdir(join(pkg, 'dist', 'src', 'cli'), { recursive: true });
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'baton', version: '0.4.0' }));
    await writeFile(join(pkg, 'dist', 'src', 'cli', 'main.js'), '');
    // A build from before the worker thread: main.js only, which today's launcher cannot run.
    const legacy = join(dir, 'legacy.tgz');
    execFileSync('tar', ['-czf', legacy, '-C', pkg, 'package.json', 'dist/src']);
    await assert.rejects(
      inspectBundle(legacy),
      /'dist\/src\/cli\/agent-worker\.js' is missing \(a build from before the agent ran in a worker thread/,
    );
    await writeFile(join(pkg, 'dist', 'src', 'cli', 'agent-worker.js'), '');
    const good = join(dir, 'good.tgz');
    execFileSync('tar', ['-czf', good, '-C', pkg, 'package.json', 'dist/src']);
    assert.equal((await inspectBundle(good)).version, '0.4.0');
    const out = join(dir, 'out');
    await mkdir(out);
    await unpackBundle(good, out);
    assert.ok(existsSync(join(out, 'dist', 'src', 'cli', 'agent-worker.js')));

    const nested = join(dir, 'nested.tgz');
    execFileSync('tar', ['-czf', nested, '-C', dir, 'pkg']);
    await assert.rejects(
      inspectBundle(nested),
      /'package\.json' is missing \(found 'pkg\/package\.json': pack from inside the package folder\)/,
    );
    const noEntry = join(dir, 'no-entry.tgz');
    execFileSync('tar', ['-czf', noEntry, '-C', pkg, 'package.json']);
    await assert.rejects(inspectBundle(noEntry), /'dist\/src\/cli\/agent-worker\.js' is missing$/);
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'baton' }));
    const noVersion = join(dir, 'no-version.tgz');
    execFileSync('tar', ['-czf', noVersion, '-C', pkg, 'package.json', 'dist/src']);
    await assert.rejects(inspectBundle(noVersion), /package\.json has no "version"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
