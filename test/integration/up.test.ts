import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connectNats } from '../../src/shared/connect.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BATON_MAIN, baton } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const ENV = { ...process.env, BATON_LIMIT_SCALE: String(1 / 256), BATON_NATS_URL: '' };

function startUp(
  cwd: string,
  extra: string[] = [],
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [BATON_MAIN, 'up', '--nats-port', 'random', '--api-port', 'random', ...extra],
    {
      cwd,
      env: ENV,
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

test('baton up runs the stack, commands find it from the folder, Ctrl-C stops it, data survives', async (t) => {
  const cwd = await mkdtemp(join(tmpdir(), 'baton-up-'));
  t.after(() => rm(cwd, { recursive: true, force: true }));
  const ctxFile = join(cwd, '.baton', 'context.json');

  const first = startUp(cwd);
  t.after(() => first.child.kill('SIGKILL'));
  await waitFor('baton up to be ready', () => first.output().includes('Press Ctrl-C to stop.'), {
    timeoutMs: 30_000,
  });
  assert.match(first.output(), /nats-server \d+\.\d+\.\d+\s+nats:\/\/127\.0\.0\.1:\d+/);
  assert.match(first.output(), /21 resources: 21 created/);
  const ctx = JSON.parse(readFileSync(ctxFile, 'utf8')) as {
    natsUrl: string;
    apiUrl: string;
    token: string;
    credsFile: string;
  };
  // Secure by default: every process has its own identity; without one the server refuses.
  assert.match(first.output(), /security\s+NATS JWT auth/);
  await assert.rejects(connectNats({ servers: ctx.natsUrl, name: 'anonymous' }), /requires credentials/);
  for (const role of ['admin', 'backend', 'scheduler', 'projector']) {
    assert.equal(statSync(join(cwd, '.baton', 'creds', `${role}.creds`)).mode & 0o777, 0o600);
  }
  assert.equal(statSync(join(cwd, '.baton', 'agent', 'agent.creds')).mode & 0o777, 0o600);
  const password = /login\s+admin \/ (\S+)/.exec(first.output())?.[1];
  assert.ok(password, 'the first admin login is printed on first start');
  assert.match(ctx.token, /^bt_/);

  // The backend serves the API: the context token and the printed password both work.
  const me = await waitFor('the backend to answer', async () => {
    const r = await fetch(`${ctx.apiUrl}/api/me`, { headers: { authorization: `Bearer ${ctx.token}` } });
    return r.status === 200 ? ((await r.json()) as { user: { name: string; role: string } }) : undefined;
  }, { timeoutMs: 30_000 }); // prettier-ignore
  assert.deepEqual(me.user, { name: 'admin', role: 'admin' });
  const login = await fetch(`${ctx.apiUrl}/api/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }),
  }); // prettier-ignore
  assert.equal(login.status, 200);

  // A command run in the same folder finds the stack without flags.
  const status = await baton(['nats', 'status', '--json'], { cwd });
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as unknown[]).length, 21);

  // A second `baton up` in the same folder refuses.
  const again = await baton(['up', '--nats-port', 'random'], { cwd, env: ENV });
  assert.equal(again.code, EXIT.conflict);
  assert.match(again.stderr, /already running/);

  const nc = await connectNats({ servers: ctx.natsUrl, name: 'test', credsFile: ctx.credsFile });
  const kv = await new Kvm(nc).open('agent_config');
  await kv.put('global', '{"heartbeat_interval":"15s"}');
  await nc.close();

  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0, first.output());
  assert.match(first.output(), /stopped; data kept/);
  assert.equal(existsSync(ctxFile), false, 'context file removed on stop');

  const second = startUp(cwd);
  t.after(() => second.child.kill('SIGKILL'));
  await waitFor('baton up to restart', () => second.output().includes('Press Ctrl-C to stop.'), {
    timeoutMs: 30_000,
  });
  assert.match(second.output(), /21 resources: 0 created, 0 updated/);
  assert.doesNotMatch(second.output(), /login\s+admin/, 'the password is shown once');
  const ctx2 = JSON.parse(readFileSync(ctxFile, 'utf8')) as { natsUrl: string; token: string };
  assert.equal(ctx2.token, ctx.token, 'the admin token survives a restart');
  const nc2 = await connectNats({ servers: ctx2.natsUrl, name: 'test', credsFile: ctx.credsFile });
  const entry = await (await new Kvm(nc2).open('agent_config')).get('global');
  assert.equal(entry?.string(), '{"heartbeat_interval":"15s"}');
  await nc2.close();
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('baton up --cluster 3: three nodes, every resource R3, all URLs in the context, a killed node comes back', async (t) => {
  const cwd = await mkdtemp(join(tmpdir(), 'baton-up-cluster-'));
  t.after(() => rm(cwd, { recursive: true, force: true }));
  const up = startUp(cwd, ['--cluster', '3']);
  t.after(() => up.child.kill('SIGKILL'));
  await waitFor('baton up --cluster to be ready', () => up.output().includes('Press Ctrl-C to stop.'), {
    timeoutMs: 60_000,
  });
  assert.match(
    up.output(),
    /3 nodes\s+nats:\/\/127\.0\.0\.1:\d+,nats:\/\/127\.0\.0\.1:\d+,nats:\/\/127\.0\.0\.1:\d+/,
  );
  const ctx = JSON.parse(readFileSync(join(cwd, '.baton', 'context.json'), 'utf8')) as { natsUrl: string };
  assert.equal(ctx.natsUrl.split(',').length, 3, 'the context file carries every node');

  const status = await baton(['nats', 'status', '--json'], { cwd });
  assert.equal(status.code, 0, status.stderr);
  const rows = JSON.parse(status.stdout) as { name: string; replicas: number }[];
  assert.equal(rows.length, 21);
  assert.deepEqual(
    rows.filter((r) => r.replicas !== 3),
    [],
    'every resource has 3 replicas',
  );

  // A node that dies is started again on its ports and store.
  const runDir = join(cwd, '.baton', 'cluster', 'n2', 'run');
  const pidOf = () => Number(/nats-server_(\d+)\.ports/.exec(readdirSync(runDir).join(' '))?.[1]);
  const first = pidOf();
  process.kill(first, 'SIGKILL');
  await waitFor('n2 to be restarted', () => up.output().includes('nats-server n2 exited') && pidOf() !== first && pidOf(), {
    timeoutMs: 30_000,
  }); // prettier-ignore
  // While the node catches up, a command that lands on it may time out; within the bound, all work.
  await waitFor('every resource to answer again', async () => {
    const r = await baton(['nats', 'status', '--json'], { cwd });
    return r.code === 0 && (JSON.parse(r.stdout) as unknown[]).length === 21;
  }, { timeoutMs: 30_000, intervalMs: 500 }); // prettier-ignore

  // Bad sizes are refused before anything starts.
  const bad = await baton(['up', '--cluster', '2', '--nats-port', 'random'], { cwd: tmpdir(), env: ENV });
  assert.equal(bad.code, EXIT.usage);
  assert.match(bad.stderr, /--cluster: '2' is not allowed; use 3 or 5/);

  up.child.kill('SIGINT');
  assert.equal(await up.exited, 0, up.output());
  assert.match(up.output(), /stopped; data kept/);
});
