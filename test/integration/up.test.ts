import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connectNats } from '../../src/shared/connect.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BATON_MAIN, baton } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const ENV = { ...process.env, BATON_LIMIT_SCALE: String(1 / 256), BATON_NATS_URL: '' };

function startUp(cwd: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BATON_MAIN, 'up', '--nats-port', 'random', '--api-port', 'random'], {
    cwd,
    env: ENV,
  });
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
  const ctx = JSON.parse(readFileSync(ctxFile, 'utf8')) as { natsUrl: string; apiUrl: string; token: string; credsFile: string };
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
