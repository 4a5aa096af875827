// Typed job parameters end to end: run-time validation before anything is published, values
// reaching scripts only through the environment (hostile values stay inert), schedule/job
// compatibility at apply and edit time, the scheduler's params_invalid skip, and the values in
// the execution's receipt and `baton runs show`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EXIT } from '../../src/cli/exit-codes.js';
import { JobStore, STREAMS, readAudit, startExecution } from '../../src/kv/index.js';
import { Projector } from '../../src/projector/index.js';
import { Scheduler } from '../../src/scheduler/index.js';
import { ParamsError, inlineOutputBytes, parseRunStart, type ExecResult } from '../../src/wire/index.js';
import { collectResults, startAgent } from '../helpers/fleet.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const ROTATE = (params: string) => `kind: job
id: rotate
version: 1.0.0
params:
${params}
execute:
  shell: sh
  script: |
    echo "keep=$BATON_PARAM_KEEP_DAYS service=$BATON_PARAM_SERVICE dry=$BATON_PARAM_DRY_RUN"
  timeout: 10s
`;
const PARAMS_V1 = `  keep_days: { type: integer, min: 1, max: 90, default: 14 }
  service: { type: enum, values: [nginx, postgres, app], required: true }
  dry_run: { type: boolean, default: false }`;

const ECHO = `kind: job
id: echo-msg
version: 1.0.0
params:
  msg: { type: string, max_length: 512 }
execute:
  shell: sh
  script: |
    printf '%s' "$BATON_PARAM_MSG"
  timeout: 10s
`;

const SCHEDULE = (id: string, params: string, cron = '0 3 * * *') => `kind: schedule
id: ${id}
job: rotate
target: { pcs: [pc-p] }
cron: "${cron}"
starting_deadline: 1m
params: ${params}
`;

const text = (r: ExecResult) => Buffer.from(inlineOutputBytes(r.stdout) ?? []).toString('utf8');

describe('job parameters', () => {
  let s: TestStack;
  let nc: NatsConnection;
  let agent: { stop(): Promise<void> };
  const write = (name: string, content: string) => writeFile(join(s.dir, name), content);
  const execMessages = async () =>
    (await (await jetstreamManager(nc)).streams.info(STREAMS.exec)).state.messages;
  const runStarts = async () => (await readAudit(nc, { action: 'run.start', limit: 10_000 })).events;

  before(async () => {
    s = await startStack();
    nc = await s.server.connect('test');
    await write('rotate.yaml', ROTATE(PARAMS_V1));
    await write('echo.yaml', ECHO);
    assert.equal((await s.cli(['apply', '-f', 'rotate.yaml', 'echo.yaml'])).code, 0);
    agent = await startAgent(s.server.url, 'pc-p');
  });
  after(async () => {
    await agent.stop();
    await s.stop();
  });

  test('jobs show lists the parameters with type, bounds, default and required', async () => {
    const table = await s.cli(['jobs', 'show', 'rotate']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /keep_days\s+integer\s+an integer 1\.\.90\s+14/);
    assert.match(table.stdout, /service\s+enum\s+one of nginx, postgres, app\s+\(required\)/);
    assert.match(table.stdout, /dry_run\s+boolean\s+true or false\s+false/);
    const json = await s.json<{
      params: { name: string; type: string; required: boolean; default: string | null }[];
    }>(['jobs', 'show', 'rotate']);
    assert.deepEqual(
      json.params.map((p) => [p.name, p.type, p.required, p.default]),
      [
        ['keep_days', 'integer', false, '14'],
        ['service', 'enum', true, null],
        ['dry_run', 'boolean', false, 'false'],
      ],
    );
  });

  test('bad values are refused with every problem named, and nothing is published', async () => {
    const before = { exec: await execMessages(), starts: (await runStarts()).length };
    const r = await s.cli([
      'run',
      'rotate',
      '--target',
      'all',
      '--param',
      'keep_days=120',
      '--param',
      'sevice=nginx',
      '--param',
      'dry_run=yes',
    ]);
    assert.equal(r.code, EXIT.usage);
    assert.equal(
      r.stderr,
      [
        "baton: invalid parameters for job 'rotate'; nothing was started:",
        "  parameter 'sevice': unknown parameter; did you mean 'service'?",
        "  parameter 'keep_days': '120' is out of range; allowed an integer 1..90",
        "  parameter 'service': required; allowed one of nginx, postgres, app",
        "  parameter 'dry_run': 'yes' is not a boolean; allowed true or false",
        '',
      ].join('\n'),
    );
    const malformed = await s.cli(['run', 'rotate', '--target', 'all', '--param', 'keep_days']);
    assert.equal(malformed.code, EXIT.usage);
    assert.match(malformed.stderr, /--param: "keep_days" is not key=value/);
    const twice = await s.cli([
      'run',
      'rotate',
      '--target',
      'all',
      '--param',
      'service=app',
      '--param',
      'service=nginx',
    ]);
    assert.equal(twice.code, EXIT.usage);
    assert.match(twice.stderr, /--param: 'service' is given twice/);
    // NUL cannot come through argv; through the library (API, scheduler) it is refused too.
    const job = await (await JobStore.open(nc)).require('echo-msg');
    await assert.rejects(
      startExecution(nc, {
        job,
        targets: [{ kind: 'all' }],
        trigger: { kind: 'adhoc', actor: 'test' },
        actor: { kind: 'user', name: 'test' },
        source: { via: 'cli' },
        params: { msg: 'a\0b' },
      }),
      (err: unknown) => err instanceof ParamsError && /contains a NUL byte/.test(err.message),
    );
    assert.deepEqual({ exec: await execMessages(), starts: (await runStarts()).length }, before);
  });

  test('valid values are normalized, defaults filled, and carried by the request and the run.start receipt', async () => {
    const started = await s.json<{ execId: string; params: Record<string, string> }>([
      'run',
      'rotate',
      '--target',
      'pc:pc-p',
      '--param',
      'service=postgres',
      '--param',
      'keep_days=+007',
    ]);
    const expected = { keep_days: '7', service: 'postgres', dry_run: 'false' };
    assert.deepEqual(started.params, expected);
    const receipt = (await runStarts()).find((e) => e.target.id === started.execId);
    assert.deepEqual(parseRunStart(receipt?.details).params, expected);
    const [result] = await collectResults(nc, [`${started.execId}-0`], 1);
    assert.equal(text(result!), 'keep=7 service=postgres dry=false\n');
  });

  test('hostile values reach the script literally through the environment and inject nothing', async () => {
    const mark = (n: number) => join(s.dir, `pwned-${n}`);
    const hostile = [
      `$(touch ${mark(1)})`,
      `\`touch ${mark(2)}\``,
      `'; touch ${mark(3)}; '`,
      `"; touch ${mark(4)}; "`,
      `x && touch ${mark(5)} || touch ${mark(5)}`,
      `\ntouch ${mark(6)}\n`,
      `* ? [a-z] ~ $HOME \${PATH} %PATH% \\ | > ${mark(7)}`,
    ].join('\n');
    const started = await s.json<{ execId: string; params: Record<string, string> }>([
      'run',
      'echo-msg',
      '--target',
      'pc:pc-p',
      '--param',
      `msg=${hostile}`,
    ]);
    assert.deepEqual(started.params, { msg: hostile });
    const [result] = await collectResults(nc, [`${started.execId}-0`], 1);
    assert.equal(result?.status, 'ok');
    assert.equal(text(result), hostile);
    assert.deepEqual(
      (await readdir(s.dir)).filter((f) => f.startsWith('pwned')),
      [],
    );
  });

  test('a schedule with values its job refuses is not applied; located errors name the parameter', async () => {
    await write('bad-schedule.yaml', SCHEDULE('nightly-bad', '{ keep_days: "120", servce: app }'));
    const r = await s.cli(['apply', '-f', 'bad-schedule.yaml']);
    assert.equal(r.code, EXIT.usage);
    assert.equal(
      r.stderr,
      [
        "baton: bad-schedule.yaml:7: params.servce: unknown parameter; did you mean 'service'? (job 'rotate')",
        "bad-schedule.yaml:7: params.keep_days: '120' is out of range; allowed an integer 1..90 (job 'rotate')",
        "bad-schedule.yaml:7: params.service: required; allowed one of nginx, postgres, app (job 'rotate')",
        '',
      ].join('\n'),
    );
    assert.deepEqual(await s.json<unknown[]>(['schedules', 'ls']), []);
  });

  test('a job change that breaks a schedule is refused, --force applies it and reports the breakage', async () => {
    await write('nightly.yaml', SCHEDULE('nightly', '{ service: app, keep_days: "60" }'));
    assert.equal((await s.cli(['apply', '-f', 'nightly.yaml'])).code, 0);
    const revision = (await (await JobStore.open(nc)).require('rotate')).revision;

    // v2 narrows keep_days to 30 and drops `app`: both values of `nightly` become invalid.
    const v2 = ROTATE(`  keep_days: { type: integer, min: 1, max: 30, default: 14 }
  service: { type: enum, values: [nginx, postgres], required: true }
  dry_run: { type: boolean, default: false }`).replace('1.0.0', '2.0.0');
    await write('rotate.yaml', v2);
    const refused = await s.cli(['apply', '-f', 'rotate.yaml']);
    assert.equal(refused.code, EXIT.conflict);
    assert.match(
      refused.stderr,
      /refused: job 'rotate': the new params break schedule 'nightly': parameter 'keep_days': '60' is out of range; allowed an integer 1\.\.30; parameter 'service': 'app' is not allowed; allowed one of nginx, postgres; fix the schedule \(in the same apply\) or pass --force/,
    );
    assert.equal((await (await JobStore.open(nc)).require('rotate')).revision, revision);

    // The same change from a person's edit is refused too.
    const edit = await s.cli(['jobs', 'edit', 'rotate', '-f', 'rotate.yaml']);
    assert.equal(edit.code, EXIT.conflict);
    assert.match(edit.stderr, /the new params break schedule 'nightly': parameter 'keep_days'/);

    // Fixing the schedule in the same apply is accepted.
    await write('fixed.yaml', SCHEDULE('nightly', '{ service: nginx, keep_days: "30" }'));
    const dry = await s.cli(['apply', '-f', 'rotate.yaml', 'fixed.yaml', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);

    // --force: applied, every breakage reported on stderr, in --json and in the receipt.
    const forced = await s.cli(['apply', '-f', 'rotate.yaml', '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(
      forced.stderr,
      /warning: job 'rotate' refuses the params of schedule 'nightly': parameter 'keep_days': '60' is out of range/,
    );
    const out = JSON.parse(forced.stdout) as {
      objects: { id: string; action: string; warnings: string[] }[];
    };
    assert.equal(out.objects[0]?.action, 'update');
    assert.equal(out.objects[0]?.warnings.length, 1);
    const update = (await readAudit(nc, { action: 'job.update', target: 'rotate' })).events.at(-1);
    assert.deepEqual(update?.details?.['brokenSchedules'], [
      {
        schedule: 'nightly',
        problems: [
          "keep_days: '60' is out of range; allowed an integer 1..30",
          "service: 'app' is not allowed; allowed one of nginx, postgres",
        ],
      },
    ]);

    // An unrelated edit is not blocked by a schedule that was already broken; it is reported.
    await write('rotate-doc.yaml', v2.replace('version: 2.0.0', 'version: 2.0.0\ndescription: docs only'));
    const docs = await s.cli(['jobs', 'edit', 'rotate', '-f', 'rotate-doc.yaml']);
    assert.equal(docs.code, 0, docs.stderr);
    assert.match(docs.stderr, /warning: job 'rotate' refuses the params of schedule 'nightly'/);
  });

  test('a fire whose params no longer validate is recorded as schedule.skip params_invalid', async () => {
    // `nightly` is broken by the forced v2 above; this one fires every second.
    await write('often.yaml', SCHEDULE('often', '{ service: nginx }', '*/1 * * * * *'));
    assert.equal((await s.cli(['apply', '-f', 'often.yaml'])).code, 0);
    const v3 = ROTATE(`  keep_days: { type: integer, min: 1, max: 30, default: 14 }
  service: { type: enum, values: [postgres], required: true }`).replace('1.0.0', '3.0.0');
    await write('rotate.yaml', v3);
    const refused = await s.cli(['jobs', 'edit', 'rotate', '-f', 'rotate.yaml']);
    assert.equal(refused.code, EXIT.conflict);
    assert.match(
      refused.stderr,
      /the new params break schedule 'often': parameter 'service': 'nginx' is not allowed/,
    );
    const forced = await s.cli(['jobs', 'edit', 'rotate', '-f', 'rotate.yaml', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /warning: job 'rotate' refuses the params of schedule 'often'/);
    const edit = (await readAudit(nc, { action: 'job.update', target: 'rotate' })).events.at(-1);
    assert.equal((edit?.details?.['brokenSchedules'] as string[]).length, 2);
    const sch = new Scheduler({ nc: await s.server.connect('sched'), logger: { info() {}, error() {} } });
    await sch.start();
    try {
      const skip = await waitFor(
        'a params_invalid skip',
        async () =>
          (await readAudit(nc, { action: 'schedule.skip', target: 'often' })).events.find(
            (e) => e.details?.['reason'] === 'params_invalid',
          ),
        { intervalMs: 100 },
      );
      assert.equal(
        skip.details?.['message'],
        "parameter 'service': 'nginx' is not allowed; allowed one of postgres",
      );
      assert.match(skip.summary, /params_invalid: parameter 'service'/);
    } finally {
      await sch.stop();
    }
    assert.equal(
      (await runStarts()).filter((e) => parseRunStart(e.details).trigger.kind === 'schedule').length,
      0,
    );
  });

  test('baton runs show prints the values of the execution', async () => {
    const dbPath = join(s.dir, 'params.db');
    const p = new Projector(nc, { dbPath, instance: 'params', emitPresence: false });
    await p.start();
    try {
      const started = await s.json<{ execId: string }>([
        'run',
        'rotate',
        '--target',
        'pc:pc-p',
        '--param',
        'service=postgres',
        '--param',
        'keep_days=3',
      ]);
      const shown = await waitFor('the execution in the projection', async () => {
        const r = await s.cli(['runs', 'show', started.execId, '--db', dbPath, '--json']);
        if (r.code !== 0) return undefined;
        const e = JSON.parse(r.stdout) as { status: string; params: Record<string, string> };
        return e.status === 'ok' ? e : undefined;
      });
      assert.deepEqual(shown.params, { keep_days: '3', service: 'postgres' });
      const table = await s.cli(['runs', 'show', started.execId, '--db', dbPath]);
      assert.match(table.stdout, /^ {2}params {4}keep_days=3 service=postgres$/m);
    } finally {
      await p.stop();
    }
  });
});
