import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ConflictError, JobStore } from '../../src/kv/index.js';
import { parseManifestFile } from '../../src/wire/index.js';
import { startStack, type TestStack } from '../helpers/stack.js';

const DISK = `# Disk usage of the root filesystem.
kind: job
id: disk-usage
version: 1.0.0      # bump on every change
description: Report root disk usage
tags: [inventory, linux]
execute:
  shell: sh
  script: |
    # keep POSIX output
    df -P /
  timeout: 30s
`;

const TWO = `kind: job
id: uptime
version: "2"
execute: { shell: bash, script: uptime, timeout: 5s }
---
# second document
kind: job
id: whoami
version: 1.0.0
execute:
  shell: sh
  script: >-
    id -un
  timeout: 1m
  env: { LC_ALL: C }
`;

type Row = {
  id: string;
  action: string;
  revision: number | null;
  revisionBefore: number | null;
  reason: string | null;
};
type ApplyOut = { dryRun: boolean; applied: boolean; objects: Row[] };
type Receipt = {
  action: string;
  actor: { name: string };
  target: { id: string };
  revisionBefore: number | null;
  revisionAfter: number | null;
  source: { via: string; file?: string; gitCommit?: string };
};

describe('job catalog: apply, export, receipts, human-edit protection', () => {
  let s: TestStack;
  before(async () => {
    s = await startStack();
    await mkdir(join(s.dir, 'jobs'));
    await writeFile(join(s.dir, 'jobs', 'disk.yaml'), DISK);
    await writeFile(join(s.dir, 'jobs', 'two.yml'), TWO);
  });
  after(async () => s.stop());

  test('dry-run shows the plan and writes nothing', async () => {
    const out = await s.json<ApplyOut>(['apply', '-f', 'jobs', '--dry-run']);
    assert.equal(out.dryRun, true);
    assert.deepEqual(
      out.objects.map((o) => [o.id, o.action]),
      [
        ['disk-usage', 'create'],
        ['uptime', 'create'],
        ['whoami', 'create'],
      ],
    );
    assert.deepEqual(await s.json<unknown[]>(['jobs', 'ls']), []);
    assert.deepEqual(await s.json<unknown[]>(['audit']), []);
  });

  test('multi-document apply of a folder creates every job with a receipt; a second apply is unchanged', async () => {
    const out = await s.json<ApplyOut>(['apply', '-f', 'jobs']);
    assert.deepEqual(
      out.objects.map((o) => [o.id, o.action, o.revisionBefore]),
      [
        ['disk-usage', 'create', null],
        ['uptime', 'create', null],
        ['whoami', 'create', null],
      ],
    );
    assert.ok(out.objects.every((o) => typeof o.revision === 'number' && o.revision > 0));
    const jobs = await s.json<{ id: string; version: string; status: string }[]>(['jobs', 'ls']);
    assert.deepEqual(
      jobs.map((j) => [j.id, j.version, j.status]),
      [
        ['disk-usage', '1.0.0', 'ACTIVE'],
        ['uptime', '2', 'ACTIVE'],
        ['whoami', '1.0.0', 'ACTIVE'],
      ],
    );

    const again = await s.json<ApplyOut>(['apply', '-f', 'jobs']);
    assert.ok(again.objects.every((o) => o.action === 'unchanged'));

    const receipts = await s.json<Receipt[]>(['audit', '--action', 'job.create']);
    assert.deepEqual(receipts.map((r) => r.target.id).sort(), ['disk-usage', 'uptime', 'whoami']);
    for (const r of receipts) {
      assert.equal(r.actor.name, 'tester');
      assert.equal(r.source.via, 'apply');
      assert.equal(r.revisionBefore, null);
      assert.equal(r.revisionAfter, out.objects.find((o) => o.id === r.target.id)?.revision);
    }
    assert.equal(receipts.find((r) => r.target.id === 'disk-usage')?.source.file, 'jobs/disk.yaml');
  });

  test('the stored state: manifest JSON, verbatim YAML, version pin, ACTIVE', async () => {
    const nc = await s.server.connect();
    const kvm = new Kvm(nc);
    const manifest = JSON.parse((await (await kvm.open('jobs')).get('whoami'))!.string()) as {
      execute: { timeoutMs: number; runAs: string };
    };
    assert.equal(manifest.execute.timeoutMs, 60_000);
    assert.equal(manifest.execute.runAs, 'system');
    assert.equal((await (await kvm.open('script_current')).get('whoami'))?.string(), '1.0.0');
    assert.equal((await (await kvm.open('script_status')).get('whoami'))?.string(), 'ACTIVE');
    assert.equal((await (await kvm.open('jobs_yaml')).get('disk-usage'))?.string(), DISK);
  });

  test('export writes the YAML back byte for byte, comments and block scalars included', async () => {
    await s.json(['jobs', 'export', 'out']);
    assert.equal(await readFile(join(s.dir, 'out', 'disk-usage.yaml'), 'utf8'), DISK);
    const whoami = await readFile(join(s.dir, 'out', 'whoami.yaml'), 'utf8');
    assert.ok(TWO.includes(whoami.replace(/^---\n/, '')), whoami);
    assert.match(whoami, /# second document/);
    // Re-applying the exported files changes nothing.
    const re = await s.json<ApplyOut>(['apply', '-f', 'out']);
    assert.ok(
      re.objects.every((o) => o.action === 'unchanged'),
      JSON.stringify(re.objects),
    );
    assert.equal((await s.cli(['jobs', 'show', 'disk-usage', '--yaml'])).stdout, DISK);
  });

  test('apply refuses to overwrite a human edit, names revision and author, and --force overrides', async () => {
    const edited = DISK.replace('timeout: 30s', 'timeout: 45s');
    await writeFile(join(s.dir, 'edited.yaml'), edited);
    const base = await s.json<{ revision: number }>(['jobs', 'show', 'disk-usage']);
    const edit = await s.cli(['jobs', 'edit', 'disk-usage', '-f', 'edited.yaml', '--json'], {
      env: { BATON_ACTOR: 'alice' },
    });
    assert.equal(edit.code, 0, edit.stderr);
    const human = (JSON.parse(edit.stdout) as { revision: number }).revision;
    assert.ok(human > base.revision);

    const changed = DISK.replace('version: 1.0.0 ', 'version: 1.1.0 ');
    await writeFile(join(s.dir, 'jobs', 'disk.yaml'), changed);
    const refused = await s.cli(['apply', '-f', 'jobs']);
    assert.equal(refused.code, EXIT.conflict);
    assert.match(
      refused.stderr,
      new RegExp(
        `job 'disk-usage' revision ${human} was edited by alice via cli at .* since the last apply; pass --force`,
      ),
    );
    // Nothing was applied, not even the other (unchanged) objects' writes.
    assert.equal((await s.cli(['jobs', 'show', 'disk-usage', '--yaml'])).stdout, edited);

    const forced = await s.json<ApplyOut>(['apply', '-f', 'jobs', '--force']);
    const update = forced.objects.filter((o) => o.action === 'update');
    assert.deepEqual(
      update.map((o) => [o.id, o.revisionBefore]),
      [['disk-usage', human]],
    );
    const forcedRevision = update[0]!.revision!;
    assert.equal((await s.cli(['jobs', 'show', 'disk-usage', '--yaml'])).stdout, changed);
    const updates = await s.json<Receipt[]>(['audit', '--action', 'job.update', '--target', 'disk-usage']);
    assert.deepEqual(
      updates.map((r) => [r.actor.name, r.source.via, r.revisionBefore, r.revisionAfter]),
      [
        ['alice', 'cli', base.revision, human],
        ['tester', 'apply', human, forcedRevision],
      ],
    );
    // After an apply, later applies go through again without --force.
    await writeFile(join(s.dir, 'jobs', 'disk.yaml'), changed.replace('1.1.0', '1.2.0'));
    const next = await s.json<ApplyOut>(['apply', '-f', 'jobs']);
    assert.equal(next.objects.find((o) => o.id === 'disk-usage')?.action, 'update');
  });

  test('two concurrent writers: exactly one wins, the other gets a conflict naming the revision', async () => {
    const a = await JobStore.open(await s.server.connect('a'));
    const b = await JobStore.open(await s.server.connect('b'));
    const base = await a.require('uptime');
    const doc = parseManifestFile(TWO.split('---\n')[0]!, 'x.yaml').jobs[0]!;
    const meta = (name: string) => ({
      actor: { kind: 'user' as const, name },
      source: { via: 'api' as const },
    });
    const results = await Promise.allSettled([
      a.put({ ...doc.manifest, version: 'a' }, doc.yaml, base.revision, meta('a')),
      b.put({ ...doc.manifest, version: 'b' }, doc.yaml, base.revision, meta('b')),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    const winner = won[0]!.value;
    const lost = results.find((r) => r.status === 'rejected');
    assert.ok(lost?.reason instanceof ConflictError);
    assert.match(
      lost.reason.message,
      new RegExp(`changed since revision ${base.revision}: it is now at revision ${winner} by [ab] via api`),
    );
    const now = await a.require('uptime');
    assert.equal(now.revision, winner);
    assert.equal(now.manifest.version, now.written.actor.name);
  });

  test('revoke, unrevoke and rm leave receipts; rm keeps the pin; apply will not silently resurrect a deleted job', async () => {
    assert.equal((await s.cli(['revoke', 'whoami'])).code, 0);
    assert.equal((await s.json<{ status: string }>(['jobs', 'show', 'whoami'])).status, 'REVOKED');
    assert.equal((await s.json<{ changed: boolean }>(['revoke', 'whoami'])).changed, false);
    assert.equal((await s.cli(['unrevoke', 'whoami'])).code, 0);
    assert.equal((await s.cli(['jobs', 'rm', 'whoami'])).code, 0);
    const show = await s.cli(['jobs', 'show', 'whoami']);
    assert.equal(show.code, EXIT.notFound);
    assert.match(show.stderr, /job 'whoami' was deleted \(revision \d+/);
    const nc = await s.server.connect();
    const kvm = new Kvm(nc);
    assert.equal((await (await kvm.open('script_current')).get('whoami'))?.string(), '1.0.0');
    assert.equal((await (await kvm.open('script_status')).get('whoami'))?.string(), 'REVOKED');

    const refused = await s.cli(['apply', '-f', 'jobs/two.yml']);
    assert.equal(refused.code, EXIT.conflict);
    assert.match(refused.stderr, /job 'whoami' was deleted at revision \d+ .*; pass --force to recreate it/);
    const recreated = await s.json<ApplyOut>(['apply', '-f', 'jobs/two.yml', '--force']);
    assert.equal(recreated.objects.find((o) => o.id === 'whoami')?.action, 'create');
    assert.equal((await s.json<{ status: string }>(['jobs', 'show', 'whoami'])).status, 'ACTIVE');

    const actions = (await s.json<Receipt[]>(['audit', '--target', 'whoami'])).map((r) => r.action);
    assert.deepEqual(actions, ['job.create', 'job.revoke', 'job.unrevoke', 'job.delete', 'job.create']);
  });

  test('a file in a git repository is recorded with its path and commit', async () => {
    const repo = join(s.dir, 'repo');
    await mkdir(join(repo, 'jobs'), { recursive: true });
    await writeFile(join(repo, 'jobs', 'git.yaml'), DISK.replace('id: disk-usage', 'id: from-git'));
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repo, ...args], {
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@t',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@t',
        },
      })
        .toString()
        .trim();
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'jobs');
    const head = git('rev-parse', 'HEAD');
    await s.json(['apply', '-f', join(repo, 'jobs')]);
    const [receipt] = await s.json<Receipt[]>(['audit', '--target', 'from-git']);
    assert.deepEqual(receipt?.source, { via: 'apply', file: 'jobs/git.yaml', gitCommit: head });
  });

  test('bad input changes nothing and says precisely what is wrong (exit 2)', async () => {
    const before = await s.json<{ id: string; revision: number }[]>(['jobs', 'ls']);
    const cases: [string, string | Buffer, RegExp][] = [
      [
        'typo.yaml',
        DISK.replace('timeout: 30s', 'timout: 30s'),
        /typo\.yaml:12: execute: unknown key 'timout'; did you mean 'timeout'\?/,
      ],
      [
        'shell.yaml',
        DISK.replace('shell: sh', 'shell: zsh'),
        /shell\.yaml:8: execute\.shell: 'zsh' is not allowed; expected one of sh, bash, pwsh, powershell, cmd/,
      ],
      [
        'range.yaml',
        DISK.replace('timeout: 30s', 'timeout: 90000h'),
        /range\.yaml:12: execute\.timeout: '90000h' is out of range; allowed 1s\.\.24h/,
      ],
      [
        'id.yaml',
        DISK.replace('id: disk-usage', 'id: Disk Usage'),
        /id\.yaml:3: id: 'Disk Usage' is invalid/,
      ],
      ['syntax.yaml', 'kind: job\nid: [unclosed\n', /syntax\.yaml:\d+:\d+: /],
      [
        'binary.yaml',
        Buffer.from([0x6b, 0x69, 0x6e, 0x64, 0x3a, 0x20, 0xff, 0xfe, 0x00, 0x01]),
        /binary\.yaml.*(UTF-8|NUL)/,
      ],
      [
        'huge.yaml',
        'a'.repeat(2 * 1024 * 1024),
        /huge\.yaml: 2097152 bytes is too large for a manifest file \(max 1048576 bytes\)/,
      ],
    ];
    for (const [name, content, message] of cases) {
      await writeFile(join(s.dir, name), content);
      // A bad file next to a good one: nothing at all is applied.
      const r = await s.cli(['apply', '-f', name, 'jobs/two.yml']);
      assert.equal(r.code, EXIT.usage, `${name}: ${r.stderr}`);
      assert.match(r.stderr, message, name);
    }
    const dup = await s.cli(['apply', '-f', 'jobs/two.yml', 'jobs/two.yml']);
    assert.equal(dup.code, EXIT.usage);
    assert.match(dup.stderr, /duplicate job id 'uptime'/);
    assert.deepEqual(await s.json<{ id: string; revision: number }[]>(['jobs', 'ls']), before);
  });
});
