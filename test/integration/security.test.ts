// Security (docs/security.md), against a nats-server started the way `baton up` starts it: operator
// JWT auth, one identity per platform process, agents with their own pc-scoped identities. Each
// hostile action below is denied by the server itself, not by baton's code.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { decode } from '@nats-io/jwt';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { Agent } from '../../src/agent/index.js';
import {
  AgentIdentities,
  AgentDirectory,
  STREAMS,
  agentInboxPrefix,
  consumerName,
  readAudit,
} from '../../src/kv/index.js';
import { connectNats } from '../../src/shared/connect.js';
import { silentLogger } from '../../src/shared/logger.js';
import { composeBackend } from '../../src/cli/backend-command.js';
import { Projector, ReadModel } from '../../src/projector/index.js';
import { identityAuthority } from '../../src/cli/secure-stack.js';
import { startSecureStack, type SecureTestStack } from '../helpers/secure-stack.js';
import { BATON_MAIN } from '../helpers/cli.js';
import { putJob } from '../helpers/jobs.js';
import { collectResults, runJob } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

/** Resolves with the error the action failed with; fails the test when the action succeeds. */
async function denied(what: string, action: () => Promise<unknown>): Promise<Error> {
  try {
    await action();
  } catch (err) {
    return err as Error;
  }
  assert.fail(`${what} was allowed`);
}

/** `p`, or `fallback` after `ms` (the timer does not keep the test process alive). */
function within<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  return Promise.race([p, new Promise<F>((r) => setTimeout(() => r(fallback), ms).unref())]);
}

/** A core publish is fire-and-forget: the server answers a violation on the connection. */
async function publishDenied(nc: NatsConnection, subject: string): Promise<void> {
  const seen = (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && String(s.error).includes(subject)) return;
    }
  })();
  nc.publish(subject, '{}');
  assert.notEqual(await within(seen, 5_000, 'none'), 'none', `no permission error for ${subject}`);
}

async function secure(t: TestContext, opts: { tls?: boolean } = {}): Promise<SecureTestStack> {
  const s = await startSecureStack(opts);
  t.after(() => s.stop());
  return s;
}

test("an agent's identity cannot speak for, read or command another pc", async (t) => {
  const s = await secure(t);
  const pc1 = await s.issueAgent('pc1');
  await s.issueAgent('pc2');
  const nc = await s.connect(pc1, { inboxPrefix: agentInboxPrefix('pc1'), name: 'pc1' });
  const js = jetstream(nc);
  const kinds: string[] = [];
  const check = async (what: string, action: () => Promise<unknown>) => {
    const err = await denied(what, action);
    const cause = (err as { cause?: unknown }).cause;
    assert.match(`${err.message} ${cause instanceof Error ? cause.message : ''}`, /permission/i, what);
    kinds.push(what);
  };

  // What it may do works: results and state under its own pc id, its own consumer, its own keys.
  const own = await js.publish('results.pc1.r1', '{}', { msgID: 'own-1' });
  assert.equal(own.stream, STREAMS.results);
  const mine = await js.consumers.get(STREAMS.exec, consumerName('pc1'));
  assert.equal(await mine.next({ expires: 1_000 }), null);
  assert.equal((await (await AgentDirectory.open(nc, { direct: true })).groupsOf('pc1')).groups.length, 0);

  await check('publishing a result as another pc', () => js.publish('results.pc2.r1', '{}'));
  await check('publishing a run event as another pc', () => js.publish('events.pc2.started', '{}'));
  await check('publishing an exec request', () => js.publish('exec.all', '{}'));
  await check("pulling another pc's requests", () => js.consumers.get(STREAMS.exec, consumerName('pc2')));
  const jsm = await jetstreamManager(nc);
  await check("a consumer of its own on another pc's subject", () =>
    jsm.consumers.add(STREAMS.exec, {
      name: 'snoop',
      ack_policy: AckPolicy.None,
      filter_subject: 'exec.pc.pc2',
    }),
  );
  await check('widening its own consumer to another pc', () =>
    jsm.consumers.update(STREAMS.exec, consumerName('pc1'), {
      filter_subjects: ['exec.pc.pc1', 'exec.pc.pc2'],
    }),
  );
  await check('writing a job', () => js.publish('$KV.jobs.evil', '{}'));
  await check('deleting a stream', () => jsm.streams.delete(STREAMS.results));
  await check("reading another pc's config layer", async () => {
    const kv = await new Kvm(nc).open('agent_config', { allow_direct: true });
    return kv.get('pcs.pc2');
  });
  await check("reading others' result output", () => new Objm(nc).open('result_output'));
  await check('reading the auth bucket', async () =>
    (await new Kvm(nc).open('auth', { allow_direct: true })).get('users.admin'),
  );

  await publishDenied(nc, 'ctl.pc2.kill');
  kinds.push("killing another pc's run");
  await publishDenied(nc, 'heartbeat.pc2');
  kinds.push('a heartbeat as another pc');
  const sub = nc.subscribe('exec.>');
  const closed = await within(sub.closed, 5_000, 'open');
  assert.ok(
    closed instanceof Error && /permission/i.test(closed.message),
    `subscribing exec.> must be refused (${String(closed)})`,
  );
  kinds.push('subscribing to every exec request');
  t.diagnostic(`denied by the server: ${kinds.length} hostile actions (${kinds.join('; ')})`);

  // Nothing of that reached a stream: only the one allowed result is stored.
  const admin = await s.connect(s.credsFile('admin'));
  const results = await (await jetstreamManager(admin)).streams.info(STREAMS.results);
  assert.equal(results.state.messages, 1);
});

test('platform identities are confined to their role', async (t) => {
  const s = await secure(t);
  const scheduler = await s.connect(s.credsFile('scheduler'));
  const projector = await s.connect(s.credsFile('projector'));
  await denied('the scheduler writing a job', () => jetstream(scheduler).publish('$KV.jobs.x', '{}'));
  await denied('the scheduler publishing a result', () =>
    jetstream(scheduler).publish('results.pc1.r', '{}'),
  );
  await publishDenied(scheduler, 'ctl.pc1.kill');
  await denied('the projector publishing a request', () => jetstream(projector).publish('exec.all', '{}'));
  await denied('the projector purging a stream', async () =>
    (await jetstreamManager(projector)).streams.purge(STREAMS.results),
  );
  // and what they are for works
  const ok = await jetstream(scheduler).publish('exec.all', '{}', { msgID: 'sched-1' });
  assert.equal(ok.stream, STREAMS.exec);
  // A replaced platform key is revoked with `baton nats revoke-key`: its connection is closed.
  const jwt = /-----BEGIN NATS USER JWT-----\s*(\S+)/.exec(
    await readFile(s.credsFile('projector'), 'utf8'),
  )![1]!;
  const revoked = await s.cli(['nats', 'revoke-key', decode(jwt).sub]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.ok(
    (await within(projector.closed(), 10_000, 'open')) !== 'open',
    'the revoked projector is disconnected',
  );
  // no identity, no entry
  const err = await denied('connecting without credentials', () =>
    connectNats({ servers: s.url, name: 'anon' }),
  );
  assert.match(err.message, /requires credentials|authorization/i);
});

test('enrollment: a token works once, gives a running agent; revocation cuts it off', async (t) => {
  const s = await secure(t);
  const admin = await s.connect(s.credsFile('admin'));
  const db = await mkdtemp(join(tmpdir(), 'baton-sec-db-'));
  t.after(() => rm(db, { recursive: true, force: true }));
  const composed = await composeBackend(admin, {
    dbPath: join(db, 'backend.db'), instance: 'sec', port: 0, webDir: join(db, 'web'), logger: silentLogger,
    identity: await identityAuthority({
      natsUrl: s.url, apiUrl: null, token: null, credsFile: s.credsFile('backend'), caFile: null,
      authorityDir: s.authority.dir, contextFile: null,
      from: { nats: 'test', api: 'test', token: 'test', creds: 'test', ca: 'test', authority: 'test' },
    }),
  }); // prettier-ignore
  try {
    await enrollRunRevoke(t, s, admin, composed.backend.url);
  } finally {
    await composed.stop();
  }
});

async function enrollRunRevoke(
  t: TestContext,
  s: SecureTestStack,
  admin: NatsConnection,
  api: string,
): Promise<void> {
  const made = await s.cli(['agents', 'enroll', 'lab-7', '--groups', 'lab', '--ttl', '10m', '--json']);
  assert.equal(made.code, 0, made.stderr);
  const { token } = JSON.parse(made.stdout) as { token: string };

  // The real agent command enrolls on first start, then runs work addressed to its group.
  const dataDir = await mkdtemp(join(tmpdir(), 'baton-sec-agent-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [BATON_MAIN, '--server', s.url, '--api', api, 'agent', '--enroll', token, '--data-dir', dataDir, '--stop-grace', '1'], {
    env: { ...process.env, BATON_NATS_URL: '', BATON_NATS_CREDS: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  }); // prettier-ignore
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.after(() => child.kill('SIGKILL'));
  await waitFor(
    'the enrolled agent to start',
    () => out.includes('agent started') || child.exitCode !== null,
    { timeoutMs: 20_000 },
  );
  assert.ok(out.includes('"pcId":"lab-7"'), out);
  const creds = await stat(join(dataDir, 'agent.creds'));
  assert.equal(creds.mode & 0o777, 0o600, 'the credentials are readable by their owner only');

  await putJob(admin, 'hello', 'echo hello');
  const started = await runJob(admin, 'hello', [{ kind: 'group', group: 'lab' }]);
  const [result] = await collectResults(admin, started.requestIds, 1);
  assert.equal(result?.status, 'ok');
  assert.equal(result?.pcId, 'lab-7');

  // The token is spent: a second exchange is refused.
  const again = await fetch(`${api}/api/enroll`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, publicKey: 'U' + 'A'.repeat(55) }),
  }); // prettier-ignore
  assert.equal(again.status, 403);
  // Refused tokens are rate-limited per address (5 a minute), successful enrollments are not.
  const refused: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${api}/api/enroll`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: `bte_${'x'.repeat(43)}`, publicKey: 'U' + 'A'.repeat(55) }),
    }); // prettier-ignore
    refused.push(r.status);
  }
  assert.deepEqual(refused, [403, 403, 403, 403, 429]);

  // Revoked: the server disconnects the agent and refuses its credentials from then on.
  const revoked = await s.cli(['agents', 'revoke', 'lab-7']);
  assert.equal(revoked.code, 0, revoked.stderr);
  // The agent is cut off and says why, and exits (5: unavailable) instead of retrying forever.
  const code = await within(exited, 20_000, 'still running');
  assert.equal(code, 5, out.slice(-2000));
  assert.match(out, /closed this agent's connection.*revoked or refused/);
  const err = await denied('reconnecting with revoked credentials', () =>
    connectNats({ servers: s.url, name: 'revoked', credsFile: join(dataDir, 'agent.creds') }),
  );
  assert.match(err.message, /refused|authorization/i);
  const consumers = await (
    await jetstreamManager(admin)
  ).consumers
    .info(STREAMS.exec, consumerName('lab-7'))
    .catch(() => null);
  assert.equal(consumers, null, 'the revoked pc has no exec consumer left');
  const identity = await (await AgentIdentities.open(admin)).identity('lab-7');
  assert.ok(identity?.keys.every((k) => k.revokedAt !== null));

  const receipts = (await readAudit(admin, {})).events.map((e) => e.action);
  for (const a of ['agent.enroll_token', 'agent.enroll', 'agent.revoke'])
    assert.ok(receipts.includes(a), `receipt ${a}`);
}

test('TLS: agents verify the server against the CA baton made', async (t) => {
  const s = await secure(t, { tls: true });
  assert.ok(s.caFile);
  const pc = await s.issueAgent('tls-pc');
  const dataDir = await mkdtemp(join(tmpdir(), 'baton-tls-agent-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const agent = new Agent({ pcId: 'tls-pc', servers: s.url, dataDir, credsFile: pc, caFile: s.caFile, logger: silentLogger, stopGraceMs: 1_000 }); // prettier-ignore
  await agent.start();
  try {
    const admin = await s.connect(s.credsFile('admin'));
    await putJob(admin, 'tls-job', 'echo over tls');
    const started = await runJob(admin, 'tls-job', [{ kind: 'pc', pcId: 'tls-pc' }]);
    assert.equal((await collectResults(admin, started.requestIds, 1))[0]?.status, 'ok');
    // An enrolled agent may read script objects and packages (and nothing else of the stores).
    await writeFile(join(s.dir, 'obj.sh'), 'cat "$BATON_PACKAGE_TOOL"\n');
    await writeFile(join(s.dir, 'tool.txt'), 'tool bytes\n');
    for (const args of [
      ['scripts', 'put', 'obj/1', 'obj.sh'],
      ['packages', 'put', 'tool/1', 'tool.txt'],
    ]) {
      const r = await s.cli(args);
      assert.equal(r.code, 0, r.stderr);
    }
    await putJob(admin, 'obj-job', '', { execute: '  script_object: obj/1\n  packages: [tool/1]\n' });
    // Fired with the scheduler's identity and projected with the projector's, as in `baton up`.
    const scheduler = await s.connect(s.credsFile('scheduler'));
    const projector = new Projector(await s.connect(s.credsFile('projector')), {
      dbPath: join(dataDir, 'baton.db'), instance: 'sec', logger: silentLogger,
    }); // prettier-ignore
    await projector.start();
    try {
      const objRun = await runJob(scheduler, 'obj-job', [{ kind: 'pc', pcId: 'tls-pc' }]);
      const [objResult] = await collectResults(admin, objRun.requestIds, 1);
      assert.equal(objResult?.status, 'ok', JSON.stringify(objResult?.stderr));
      const rm = ReadModel.open(join(dataDir, 'baton.db'));
      try {
        const row = await waitFor('the projector to store the result', () =>
          rm.results.get(objResult.resultId),
        );
        assert.equal(row.status, 'ok');
      } finally {
        rm.close();
      }
    } finally {
      await projector.stop();
    }
  } finally {
    await agent.stop(); // before the server stops (t.after), or its drain would wait for it
  }

  // Without the CA (or with another one) the server's certificate is not trusted.
  const noCa = await denied('TLS without the CA', () =>
    connectNats({ servers: s.url, name: 'no-ca', credsFile: pc, timeoutMs: 3_000 }),
  );
  assert.match(`${noCa.message}`, /certificate|self.signed|TLS/i);
  const other = await startSecureStack({ tls: true });
  t.after(() => other.stop());
  const wrongCa = await denied('TLS with another CA', () =>
    connectNats({ servers: s.url, name: 'wrong-ca', credsFile: pc, caFile: other.caFile!, timeoutMs: 3_000 }),
  );
  assert.match(`${wrongCa.message}`, /certificate|signature|TLS/i);
});
