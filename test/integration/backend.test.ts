// The HTTP API against a real nats-server, real SQLite (the backend's own projection) and real
// HTTP on a random port: auth per role and route family, login sessions and rate limit,
// validation errors, body limit, human edits vs apply, CAS conflicts, a run on a real agent seen
// through the API, paged overflowed output, server-sent events and the OpenAPI document.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/index.js';
import { startAgent } from '../helpers/fleet.js';
import { jobYaml, startApi, type ApiStack } from '../helpers/backend.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, unknown>;

describe('backend API', () => {
  let api: ApiStack;
  let agent: Agent;

  before(async () => {
    api = await startApi();
    agent = await startAgent(api.stack.server.url, 'pc-api');
  });
  after(async () => {
    await agent?.stop();
    await api?.stop();
  });

  test('health needs no auth; every other route family answers 401 JSON without credentials', async () => {
    const h = await api.req('GET', '/api/health');
    assert.equal(h.status, 200);
    assert.deepEqual(h.body, { ok: true, nats: true, version: h.body['version'] });
    const family: [string, string][] = [
      ['GET', '/api/me'], ['GET', '/api/users'], ['GET', '/api/tokens'], ['GET', '/api/jobs'], ['GET', '/api/jobs/x'],
      ['PUT', '/api/jobs/x'], ['POST', '/api/validate'], ['POST', '/api/apply'], ['GET', '/api/schedules'],
      ['POST', '/api/runs'], ['GET', '/api/runs'], ['GET', '/api/runs/x'], ['GET', '/api/results/x'],
      ['GET', '/api/results/x/output'], ['GET', '/api/agents'], ['GET', '/api/agents/pc-api'], ['PUT', '/api/groups/pc-api'],
      ['GET', '/api/config/global'], ['GET', '/api/events/pc-api'], ['GET', '/api/inventory/pc-api'], ['GET', '/api/audit'], ['GET', '/api/freeze'],
      ['GET', '/api/nats/status'], ['GET', '/api/dashboard'], ['GET', '/api/stream'], ['GET', '/api/openapi.json'],
    ]; // prettier-ignore
    for (const [method, path] of family) {
      const r = await api.req(method, path, method === 'GET' ? {} : { body: {} });
      assert.equal(r.status, 401, `${method} ${path}`);
      assert.equal(r.body['error'], 'unauthorized', `${method} ${path}`);
      assert.match(String(r.body['message']), /log in|Bearer/);
    }
    const bad = await api.req('GET', '/api/jobs', { token: 'bt_000000000000_nope' });
    assert.equal(bad.status, 401);
  });

  test('roles: viewer reads, operator runs and edits, admin manages (403 with a clear body)', async () => {
    const { viewer, operator, admin } = api.tokens;
    const cases: [string, string, unknown, string, number][] = [
      ['GET', '/api/jobs', undefined, viewer, 200],
      ['PUT', '/api/jobs/rolejob', { yaml: jobYaml('rolejob', 'true') }, viewer, 403],
      ['POST', '/api/runs', { jobId: 'nojob', targets: [{ kind: 'all' }] }, viewer, 403],
      ['POST', '/api/apply', { yaml: jobYaml('rolejob', 'true') }, viewer, 403],
      ['PUT', '/api/groups/pc-x', { groups: ['lab'] }, viewer, 403],
      ['POST', '/api/runs/abc/kill', undefined, viewer, 403],
      ['GET', '/api/users', undefined, operator, 403],
      ['POST', '/api/tokens', { label: 'x' }, operator, 403],
      ['PUT', '/api/config/global', { set: { concurrency: 2 } }, operator, 403],
      ['PUT', '/api/freeze', { reason: 'x' }, operator, 403],
      ['PUT', '/api/jobs/rolejob', { yaml: jobYaml('rolejob', 'true') }, operator, 201],
      ['PUT', '/api/groups/pc-x', { groups: ['lab'] }, operator, 200],
      ['GET', '/api/users', undefined, admin, 200],
      ['PUT', '/api/config/global', { set: { concurrency: 2 } }, admin, 200],
    ];
    for (const [method, path, body, token, status] of cases) {
      const r = await api.req(method, path, { token, ...(body === undefined ? {} : { body }) });
      assert.equal(r.status, status, `${method} ${path} -> ${r.text}`);
      if (status === 403) {
        assert.equal(r.body['error'], 'forbidden');
        assert.match(String(r.body['message']), /needs the (operator|admin) role/);
      }
    }
    const users = await api.req<{ items: Json[] }>('GET', '/api/users', { token: admin });
    assert.deepEqual(
      users.body.items.map((u) => u['name']),
      ['admin', 'operator', 'viewer'],
    );
    assert.ok(users.body.items.every((u) => !('passwordHash' in u)));
  });

  test('login sets an HttpOnly SameSite=Strict session; logout ends it; wrong passwords are rate-limited', async () => {
    const wrong = await api.req('POST', '/api/login', { body: { username: 'operator', password: 'nope' } });
    assert.equal(wrong.status, 401);
    const ok = await api.req('POST', '/api/login', {
      body: { username: 'operator', password: api.password },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { user: { name: 'operator', role: 'operator' } });
    const setCookie = ok.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    const me = await api.req('GET', '/api/me', { cookie });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body['user'], { name: 'operator', role: 'operator' });
    assert.equal((await api.req('POST', '/api/logout', { cookie })).status, 200);
    assert.equal((await api.req('GET', '/api/me', { cookie })).status, 401);

    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push(
        (await api.req('POST', '/api/login', { body: { username: 'viewer', password: `guess-${i}` } }))
          .status,
      );
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const limited = await api.req('POST', '/api/login', {
      body: { username: 'viewer', password: api.password },
    });
    assert.equal(limited.status, 429, 'the right password is refused too while limited');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
  });

  test('bad input gets precise 400s, a too large body 413, unknown routes 404, all JSON', async () => {
    const op = api.tokens.operator;
    const run = await api.req<{ issues: { path: string; message: string }[] }>('POST', '/api/runs', {
      token: op,
      body: { jobId: 'Bad Id!', targets: [{ kind: 'group' }], deadline: 'soon' },
    });
    assert.equal(run.status, 400);
    assert.equal((run.body as unknown as Json)['error'], 'bad_request');
    const paths = run.body.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['body.deadline', 'body.jobId', 'body.targets.0.group']);

    const yaml = await api.req<{ issues: Json[] }>('PUT', '/api/jobs/broken', {
      token: op,
      body: {
        yaml: 'kind: job\nid: broken\nversion: "1"\nexecute:\n  shell: sh\n  script: "true"\n  timout: 30s\n',
      },
    });
    assert.equal(yaml.status, 400);
    assert.equal((yaml.body as unknown as Json)['error'], 'invalid_manifest');
    const typo = yaml.body.issues.find((i) => i['path'] === 'execute');
    assert.equal(typo?.['line'], 7);
    assert.match(String(typo?.['message']), /unknown key 'timout'; did you mean 'timeout'/);

    const v = await api.req<{ ok: boolean; issues: Json[] }>('POST', '/api/validate', {
      token: api.tokens.viewer,
      body: { yaml: 'kind: job\nid: x\n', file: 'x.yaml' },
    });
    assert.equal(v.status, 200);
    assert.equal(v.body.ok, false);
    assert.equal(v.body.issues[0]!['file'], 'x.yaml');

    const big = await api.req('POST', '/api/validate', {
      token: api.tokens.viewer,
      body: { yaml: 'x'.repeat(3 * 1024 * 1024) },
    });
    assert.equal(big.status, 413);
    assert.equal(big.body['error'], 'payload_too_large');

    const notJson = await api.req('POST', '/api/validate', {
      token: api.tokens.viewer,
      raw: '{nope',
      contentType: 'application/json',
    });
    assert.equal(notJson.status, 400);
    const q = await api.req('GET', '/api/runs?limit=0', { token: api.tokens.viewer });
    assert.equal(q.status, 400);
    assert.equal((q.body['issues'] as Json[])[0]!['path'], 'query.limit');
    assert.equal((await api.req('GET', '/api/nope', { token: api.tokens.viewer })).status, 404);
    assert.equal((await api.req('PATCH', '/api/jobs', { token: api.tokens.viewer })).status, 405);
    assert.equal((await api.req('GET', '/api/health')).status, 200, 'still up');
  });

  test('a PUT is a human edit: CAS 409 on a stale revision, apply refuses over it unless force', async () => {
    const op = api.tokens.operator;
    const created = await api.req('PUT', '/api/jobs/edited', {
      token: op,
      body: { yaml: jobYaml('edited', 'echo one'), baseRevision: null },
    });
    assert.equal(created.status, 201, created.text);
    const rev1 = created.body['revision'] as number;
    const noBase = await api.req('PUT', '/api/jobs/edited', {
      token: op,
      raw: jobYaml('edited', 'echo two'),
    });
    assert.equal(noBase.status, 428);
    const edited = await api.req('PUT', '/api/jobs/edited', {
      token: op,
      raw: jobYaml('edited', 'echo two'),
      headers: { 'if-match': String(rev1) },
    });
    assert.equal(edited.status, 200, edited.text);
    const stale = await api.req('PUT', '/api/jobs/edited', {
      token: op,
      body: { yaml: jobYaml('edited', 'echo three'), baseRevision: rev1 },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body['error'], 'conflict');
    assert.match(
      String(stale.body['message']),
      new RegExp(`changed since revision ${rev1}.*by operator via api`),
    );

    const job = await api.req<Json & { yaml: string; written: Json; manifest: Json }>(
      'GET',
      '/api/jobs/edited',
      { token: api.tokens.viewer },
    );
    assert.equal(job.body.yaml, jobYaml('edited', 'echo two'), 'YAML verbatim, comments kept');
    assert.equal(job.body.written['via'], 'api');
    assert.deepEqual(job.body.written['actor'], { kind: 'user', name: 'operator' });

    const refused = await api.req<{ objects: Json[] }>('POST', '/api/apply', {
      token: op,
      body: { yaml: jobYaml('edited', 'echo from git'), file: 'jobs/edited.yaml' },
    });
    assert.equal(refused.status, 409);
    assert.match(String((refused.body as unknown as Json)['message']), /edited by operator via api/);
    assert.equal(refused.body.objects[0]!['action'], 'refused');
    const forced = await api.req<{ objects: Json[] }>('POST', '/api/apply', {
      token: op,
      body: { yaml: jobYaml('edited', 'echo from git'), file: 'jobs/edited.yaml', force: true },
    });
    assert.equal(forced.status, 200, forced.text);
    assert.equal(forced.body.objects[0]!['action'], 'update');
    assert.equal(forced.body.objects[0]!['file'], 'jobs/edited.yaml:2');

    const hist = await waitFor('the receipts in the read model', async () => {
      const h = await api.req<{ items: Json[] }>('GET', '/api/jobs/edited/history', {
        token: api.tokens.viewer,
      });
      return h.body.items.length >= 3 ? h.body.items : undefined;
    });
    assert.deepEqual(
      hist.map((e) => e['action']),
      ['job.update', 'job.update', 'job.create'],
    );
    assert.deepEqual(
      hist.map((e) => (e['source'] as Json)['via']),
      ['apply', 'api', 'api'],
    );

    const del = await api.req('DELETE', `/api/jobs/edited?revision=${rev1}`, { token: op });
    assert.equal(del.status, 409);
  });

  test('a run started through the API reaches ok on a real agent and shows in runs, results, events and SSE', async () => {
    const op = api.tokens.operator;
    assert.equal(
      (
        await api.req('PUT', '/api/jobs/hello', {
          token: op,
          body: { yaml: jobYaml('hello', 'echo hello from $(hostname)\necho oops >&2') },
        })
      ).status,
      201,
    );
    await waitFor(
      'the agent in the read model',
      async () =>
        (await api.req<{ total: number }>('GET', '/api/agents?q=pc-api', { token: op })).body.total === 1,
    );

    // Live updates: subscribe before starting the run.
    const ac = new AbortController();
    const sse = await fetch(`${api.url}/api/stream?topics=run,result`, {
      headers: { authorization: `Bearer ${api.tokens.viewer}` },
      signal: ac.signal,
    });
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get('content-type') ?? '', /text\/event-stream/);
    const frames: { event: string; data: Json }[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of sse.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event && data) frames.push({ event, data: JSON.parse(data) as Json });
        }
      }
    })().catch(() => undefined);

    const started = await api.req<{ execId: string; expectedPcs: string[] }>('POST', '/api/runs', {
      token: op,
      body: { jobId: 'hello', targets: [{ kind: 'pc', pcId: 'pc-api' }], deadline: '10m' },
    });
    assert.equal(started.status, 201, started.text);
    assert.deepEqual(started.body.expectedPcs, ['pc-api']);
    const execId = started.body.execId;

    type Show = {
      execution: Json & { counts: Json };
      runs: { total: number; items: Json[] };
      outputGroups: Json[];
    };
    const shown = await waitFor(
      'the execution to be ok in the read model',
      async () => {
        const r = await api.req<Show>('GET', `/api/runs/${execId}`, { token: api.tokens.viewer });
        return r.status === 200 && r.body.execution['status'] === 'ok' ? r.body : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.equal(shown.execution['status'], 'ok');
    assert.equal(shown.runs.total, 1);
    assert.equal(shown.runs.items[0]!['state'], 'ok');
    assert.equal(shown.outputGroups.length, 1);
    const resultId = shown.runs.items[0]!['resultId'] as string;

    const meta = await api.req<Json & { stdout: Json }>('GET', `/api/results/${resultId}`, {
      token: api.tokens.viewer,
    });
    assert.equal(meta.body['status'], 'ok');
    assert.equal(meta.body.stdout['stored'], 'inline');
    assert.ok(!('inline' in meta.body.stdout));
    const out = await api.req('GET', `/api/results/${resultId}/output`, { token: api.tokens.viewer });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(out.text, /^hello from /);
    assert.equal(
      (await api.req('GET', `/api/results/${resultId}/output?stream=stderr`, { token: api.tokens.viewer }))
        .text,
      'oops\n',
    );

    const list = await api.req<{ items: Json[] }>('GET', '/api/runs?job=hello', { token: api.tokens.viewer });
    assert.deepEqual(
      list.body.items.map((e) => e['execId']),
      [execId],
    );
    const events = await api.req<{ items: Json[] }>('GET', '/api/events/pc-api?kind=run_finished', {
      token: api.tokens.viewer,
    });
    assert.ok(
      events.body.items.some(
        (e) => e['kind'] === 'run_finished' && (e['details'] as Json)['execId'] === execId,
      ),
    );

    await waitFor('an SSE run update with the ok counter', () =>
      frames.some(
        (f) => f.event === 'run' && f.data['execId'] === execId && (f.data['counts'] as Json)['ok'] === 1,
      ),
    );
    assert.ok(
      frames.some((f) => f.event === 'result' && f.data['execId'] === execId && f.data['status'] === 'ok'),
    );
    ac.abort();
    await reading;

    const dash = await api.req<Json & { agents: Json }>('GET', '/api/dashboard', {
      token: api.tokens.viewer,
    });
    assert.equal(dash.body.agents['online'], 1);
  });

  test('live output of a running script is relayed as server-sent events', async () => {
    const op = api.tokens.operator;
    const go = join(api.stack.dir, 'go-live');
    await api.req('PUT', '/api/jobs/live', {
      token: op,
      body: { yaml: jobYaml('live', `while [ ! -f ${go} ]; do sleep 0.05; done\necho hello live`) },
    });
    const started = await api.req<{ requestIds: string[] }>('POST', '/api/runs', {
      token: op,
      body: { jobId: 'live', targets: [{ kind: 'pc', pcId: 'pc-api' }] },
    });
    const ac = new AbortController();
    const res = await fetch(`${api.url}/api/live/pc-api/${started.body.requestIds[0]!}`, {
      headers: { authorization: `Bearer ${api.tokens.viewer}` },
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    let text = '';
    const decoder = new TextDecoder();
    const reading = (async () => {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
        text += decoder.decode(chunk, { stream: true });
    })().catch(() => undefined);
    await waitFor('the stream to open', () => text.includes(': connected'));
    await writeFile(go, '');
    await waitFor('the live chunk', () => /event: output\ndata: .*"text":"hello live\\n"/.test(text), {
      timeoutMs: 15_000,
    });
    ac.abort();
    await reading;
  });

  test('an overflowed output is read by byte range from the object store', async () => {
    const op = api.tokens.operator;
    // 400,000 bytes: over the 256 KiB inline limit. Line i is 7 digits and a newline.
    await api.req('PUT', '/api/jobs/big', {
      token: op,
      body: { yaml: jobYaml('big', "i=0; while [ $i -lt 50000 ]; do printf '%07d\\n' $i; i=$((i+1)); done") },
    });
    const started = await api.req<{ execId: string }>('POST', '/api/runs', {
      token: op,
      body: { jobId: 'big', targets: [{ kind: 'pc', pcId: 'pc-api' }] },
    });
    const resultId = await waitFor(
      'the big result',
      async () => {
        const r = await api.req<{ runs: { items: Json[] } }>('GET', `/api/runs/${started.body.execId}`, {
          token: op,
        });
        return (r.body.runs?.items[0]?.['resultId'] as string | null) ?? undefined;
      },
      { timeoutMs: 30_000 },
    );
    const meta = await api.req<{ stdout: Json }>('GET', `/api/results/${resultId}`, { token: op });
    assert.equal(meta.body.stdout['stored'], 'object');
    assert.equal(meta.body.stdout['bytes'], 400_000);
    const page = await api.req('GET', `/api/results/${resultId}/output?offset=300000&limit=16`, {
      token: op,
    });
    assert.equal(page.text, '0037500\n0037501\n');
    assert.equal(page.headers.get('x-total-bytes'), '400000');
    assert.equal(page.headers.get('x-next-offset'), '300016');
    const last = await api.req('GET', `/api/results/${resultId}/output?offset=399992&limit=100`, {
      token: op,
    });
    assert.equal(last.text, '0049999\n');
    assert.equal(last.headers.get('x-next-offset'), null);
  });

  test('admin: users and tokens with receipts; a deleted token stops working', async () => {
    const admin = api.tokens.admin;
    const weak = await api.req('POST', '/api/users', {
      token: admin,
      body: { name: 'carol', role: 'operator', password: 'short' },
    });
    assert.equal(weak.status, 400);
    const made = await api.req('POST', '/api/users', {
      token: admin,
      body: { name: 'carol', role: 'operator', password: 'a long enough password' },
    });
    assert.equal(made.status, 201, made.text);
    assert.equal(
      (
        await api.req('POST', '/api/users', {
          token: admin,
          body: { name: 'carol', role: 'viewer', password: 'a long enough password' },
        })
      ).status,
      409,
    );
    const tok = await api.req<{ token: string; record: Json }>('POST', '/api/tokens', {
      token: admin,
      body: { label: 'ci', user: 'carol', role: 'operator' },
    });
    assert.equal(tok.status, 201);
    assert.match(tok.body.token, /^bt_[0-9a-f]{12}_/);
    const me = await api.req('GET', '/api/me', { token: tok.body.token });
    assert.deepEqual(me.body['user'], { name: 'carol', role: 'operator' });
    const listed = await api.req<{ items: Json[] }>('GET', '/api/tokens', { token: admin });
    assert.ok(listed.body.items.every((t) => !('sha256' in t) && !('token' in t)));
    assert.equal(
      (await api.req('DELETE', `/api/tokens/${String(tok.body.record['id'])}`, { token: admin })).status,
      200,
    );
    assert.equal((await api.req('GET', '/api/me', { token: tok.body.token })).status, 401);
    const receipts = await waitFor('user and token receipts', async () => {
      const r = await api.req<{ items: Json[] }>('GET', '/api/audit?action=token', { token: admin });
      return r.body.items.length >= 2 ? r.body.items : undefined;
    });
    assert.deepEqual(
      receipts.map((e) => e['action']),
      ['token.delete', 'token.create'],
    );
    assert.deepEqual(receipts[0]!['actor'], { kind: 'user', name: 'admin' });
  });

  test('schedules, freeze, config, agents and nats status answer with their shapes', async () => {
    const op = api.tokens.operator;
    await api.req('PUT', '/api/jobs/nightly-job', {
      token: op,
      body: { yaml: jobYaml('nightly-job', 'true') },
    });
    const sched =
      'kind: schedule\nid: nightly\njob: nightly-job\ntarget: { all: true }\ncron: "0 3 * * *"\ntimezone: Europe/Berlin\n';
    assert.equal(
      (await api.req('PUT', '/api/schedules/nightly', { token: op, body: { yaml: sched } })).status,
      201,
    );
    const prev = await api.req<{ fires: { utc: string; local: string }[] }>(
      'GET',
      '/api/schedules/nightly/preview?count=3',
      { token: op },
    );
    assert.equal(prev.body.fires.length, 3);
    assert.match(prev.body.fires[0]!.local, /03:00/);
    const dis = await api.req('POST', '/api/schedules/nightly/disable', { token: op });
    assert.equal(dis.body['enabled'], false);
    const unknownJob = await api.req('PUT', '/api/schedules/other', {
      token: op,
      body: {
        yaml: sched.replace('id: nightly', 'id: other').replace('job: nightly-job', 'job: nightly-jbo'),
      },
    });
    assert.equal(unknownJob.status, 400);
    assert.match(String(unknownJob.body['message']), /did you mean 'nightly-job'/);

    const admin = api.tokens.admin;
    assert.equal(
      (await api.req('PUT', '/api/freeze', { token: admin, body: { reason: 'release', until: '2h' } }))
        .status,
      200,
    );
    assert.equal((await api.req('GET', '/api/freeze', { token: op })).body['frozen'], true);
    assert.equal((await api.req('DELETE', '/api/freeze', { token: admin })).body['frozen'], false);

    const badKey = await api.req('PUT', '/api/config/group:lab', {
      token: admin,
      body: { set: { concurency: 3 } },
    });
    assert.equal(badKey.status, 400);
    const agent = await api.req<{ config: { values: Json; sources: Json } }>('GET', '/api/agents/pc-api', {
      token: op,
    });
    assert.equal(agent.status, 200);
    assert.equal(agent.body.config.sources['concurrency'], 'global');
    assert.equal((await api.req('GET', '/api/config/nope:x', { token: op })).status, 400);
    const nats = await api.req<{ resources: Json[] }>('GET', '/api/nats/status', { token: op });
    assert.ok(nats.body.resources.some((r) => r['name'] === 'auth'));

    // The agent's built-in inventory snapshot, once the projection has it; none for an unknown pc.
    type Inv = { latest: { source: string; data: Json }[]; history: { initial: boolean }[] };
    const inv = await waitFor('the built-in inventory in the projection', async () => {
      const r = await api.req<Inv>('GET', '/api/inventory/pc-api', { token: api.tokens.viewer });
      return r.body.latest.length > 0 ? r.body : undefined;
    });
    assert.equal(inv.latest[0]!.source, 'builtin');
    assert.ok('memory' in inv.latest[0]!.data);
    assert.equal(inv.history[0]!.initial, true);
    const none = await api.req('GET', '/api/inventory/nobody?limit=5', { token: api.tokens.viewer });
    assert.deepEqual(none.body, { pcId: 'nobody', latest: [], history: [] });
    assert.equal((await api.req('GET', '/api/inventory/pc-api?limit=0', { token: op })).status, 400);
  });

  test('baton api sends one request with the URL and token of the environment, exit codes by status', async () => {
    const env = { BATON_API_URL: api.url, BATON_TOKEN: api.tokens.viewer };
    const me = await api.stack.cli(['api', 'GET', '/api/me'], { env });
    assert.equal(me.code, 0, me.stderr);
    assert.equal((JSON.parse(me.stdout) as { user: Json }).user['name'], 'viewer');
    const denied = await api.stack.cli(
      ['api', 'POST', '/api/runs', '-d', '{"jobId":"hello","targets":[{"kind":"all"}]}'],
      { env },
    );
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /403 .*needs the operator role/);
    const missing = await api.stack.cli(['api', 'GET', '/api/jobs/none-such'], { env });
    assert.equal(missing.code, 4);
  });

  test('the OpenAPI document lists every route with its request schemas', async () => {
    const doc = await api.req<{ openapi: string; paths: Record<string, Record<string, Json>> }>(
      'GET',
      '/api/openapi.json',
      { token: api.tokens.viewer },
    );
    assert.equal(doc.body.openapi, '3.1.0');
    for (const r of api.composed.backend.routes) {
      const path = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
      assert.ok(doc.body.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path}`);
    }
    const runs = doc.body.paths['/api/runs']!['post']!;
    const schema = ((runs['requestBody'] as Json)['content'] as Record<string, Json>)['application/json']![
      'schema'
    ] as Json;
    assert.deepEqual((schema['required'] as string[]).sort(), ['jobId', 'targets']);
  });
});

describe('backend static SPA', () => {
  let api: ApiStack;
  before(async () => {
    api = await startApi();
  });
  after(async () => api?.stop());

  test('without a build, any non-API path serves a page that says to build; with one, files and the shell', async () => {
    const missing = await fetch(`${api.url}/agents/pc-1`);
    assert.equal(missing.status, 200);
    assert.match(await missing.text(), /npm run build/);
    const web = join(api.stack.dir, 'no-web');
    await mkdir(join(web, 'assets'), { recursive: true });
    await writeFile(join(web, 'index.html'), '<!doctype html><title>spa</title>');
    await writeFile(join(web, 'assets', 'app-1.js'), 'console.log(1)');
    const shell = await fetch(`${api.url}/runs/abc`);
    assert.equal(await shell.text(), '<!doctype html><title>spa</title>');
    assert.match(shell.headers.get('content-type') ?? '', /text\/html/);
    const js = await fetch(`${api.url}/assets/app-1.js`);
    assert.match(js.headers.get('content-type') ?? '', /text\/javascript/);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    const escape = await fetch(`${api.url}/..%2f..%2fetc%2fpasswd`);
    assert.equal(await escape.text(), '<!doctype html><title>spa</title>');
  });
});
