import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ArtifactStore,
  DEFAULT_LIMITS,
  JobStore,
  ensureTopology,
  fileSource,
  readAudit,
  sha256File,
} from '../../src/kv/index.js';
import { Scheduler } from '../../src/scheduler/index.js';
import {
  inlineOutputBytes,
  parseManifestFile,
  parseRunStart,
  type ExecResult,
} from '../../src/wire/index.js';
import { BATON_MAIN } from '../helpers/cli.js';
import { collectResults, runJob, startAgent } from '../helpers/fleet.js';
import { TEST_TOPOLOGY } from '../helpers/nats-server.js';
import { waitFor } from '../helpers/wait.js';
import { startStack, type TestStack } from '../helpers/stack.js';

const out = (r: ExecResult | undefined, which: 'stdout' | 'stderr' = 'stdout') =>
  Buffer.from((r && inlineOutputBytes(r[which])) ?? []).toString('utf8');

/** Stores a job from YAML lines under `execute:` (as an apply would). */
async function putJobYaml(nc: NatsConnection, id: string, execute: string): Promise<void> {
  const yaml = `kind: job\nid: ${id}\nversion: "1"\nexecute:\n  shell: sh\n  timeout: 30s\n${execute}`;
  const job = parseManifestFile(yaml, `${id}.yaml`).jobs[0]!;
  const store = await JobStore.open(nc);
  const current = await store.get(id);
  await store.put(job.manifest, job.yaml, current?.revision ?? null, {
    actor: { kind: 'user', name: 'test' },
    source: { via: 'apply' },
  });
}

describe('script objects and app packages', () => {
  let s: TestStack;
  let nc: NatsConnection;
  const agents: { stop(): Promise<void> }[] = [];
  before(async () => {
    s = await startStack();
    nc = await s.server.connect();
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await s.stop();
  });

  test('a job runs its script object; the request pins its sha256; the agent caches it by sha256', async () => {
    await writeFile(join(s.dir, 'hello.sh'), 'echo "hello from the object on $BATON_PC_ID"\n');
    const put = await s.json<{ sha256: string; size: number; action: string }>([
      'scripts', 'put', 'hello/1.0.0', 'hello.sh',
    ]); // prettier-ignore
    assert.equal(put.action, 'created');
    assert.equal(put.sha256, await sha256File(join(s.dir, 'hello.sh')));
    await putJobYaml(nc, 'hello-obj', '  script_object: hello/1.0.0\n');
    const agent = await startAgent(s.server.url, 'pc-obj');
    agents.push(agent);

    const run = await runJob(nc, 'hello-obj', [{ kind: 'pc', pcId: 'pc-obj' }]);
    assert.deepEqual(parseRunStart(run.receipt.details).scriptObject, {
      object: 'hello/1.0.0',
      sha256: put.sha256,
    });
    const [r] = await collectResults(nc, run.requestIds, 1);
    assert.equal(r?.status, 'ok', out(r, 'stderr'));
    assert.equal(out(r), 'hello from the object on pc-obj\n');

    // A version is immutable unless forced: runs pin its sha256.
    await writeFile(join(s.dir, 'other.sh'), 'echo other\n');
    const refused = await s.cli(['scripts', 'put', 'hello/1.0.0', 'other.sh']);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, new RegExp(`already exists with other content \\(sha256 ${put.sha256}`));

    // A cached copy changed on disk is noticed (hashed on every use) and fetched again.
    const cached = join(agent.dataDir, 'cache', 'scripts', put.sha256);
    await chmod(cached, 0o644);
    await writeFile(cached, 'echo tampered on disk\n');
    const again = await runJob(nc, 'hello-obj', [{ kind: 'pc', pcId: 'pc-obj' }]);
    const [r2] = await collectResults(nc, again.requestIds, 1);
    assert.equal(out(r2), 'hello from the object on pc-obj\n');
    assert.equal(await sha256File(cached), put.sha256);
  });

  test('a script object changed after publishing is refused with both sha256s and never runs', async () => {
    await writeFile(join(s.dir, 'safe.sh'), 'echo safe\n');
    const put = await s.json<{ sha256: string }>(['scripts', 'put', 'guarded/1', 'safe.sh']);
    await putJobYaml(nc, 'guarded', '  script_object: guarded/1\n');
    // The agent's consumer exists (it takes requests published from then on), the agent is away.
    await (await startAgent(s.server.url, 'pc-late')).stop();
    // Published while the agent is away, then the object is replaced behind the platform's back
    // (straight into the store, as someone with write access to NATS could).
    const run = await runJob(nc, 'guarded', [{ kind: 'pc', pcId: 'pc-late' }]);
    const marker = join(s.dir, 'tampered-ran');
    const evil = join(s.dir, 'evil.sh');
    await writeFile(evil, `touch '${marker}'\necho evil\n`);
    const store = await ArtifactStore.open(nc, 'script');
    const replaced = await store.write('guarded/1', 'safe.sh', fileSource(evil));
    assert.notEqual(replaced.sha256, put.sha256);

    agents.push(await startAgent(s.server.url, 'pc-late'));
    const [r] = await collectResults(nc, run.requestIds, 1);
    assert.equal(r?.status, 'error');
    assert.equal(r?.reason, 'sha256_mismatch');
    assert.equal(r?.exitCode, null);
    assert.equal(r?.startedAt, undefined);
    const stderr = out(r, 'stderr');
    assert.match(stderr, /script 'guarded\/1'/);
    assert.ok(stderr.includes(`expected sha256 ${put.sha256}`), stderr);
    assert.ok(stderr.includes(replaced.sha256), stderr);
    await assert.rejects(stat(marker), { code: 'ENOENT' });
  });

  test('a missing script object: apply warns, run refuses before publishing anything', async () => {
    await writeFile(
      join(s.dir, 'ghost.yaml'),
      'kind: job\nid: ghost\nversion: "1"\nexecute:\n  shell: sh\n  timeout: 30s\n  script_object: ghost/1\n  packages: [nothere/2]\n',
    );
    const applied = await s.cli(['apply', '-f', 'ghost.yaml']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stderr, /warning: job 'ghost': script 'ghost\/1' is not stored yet/);
    assert.match(applied.stderr, /warning: job 'ghost': package 'nothere\/2' is not stored yet/);

    const started = await s.cli(['run', 'ghost', '--target', 'all']);
    assert.equal(started.code, 4, started.stderr);
    assert.match(
      started.stderr,
      /script 'ghost\/1' does not exist in the scripts store; `baton scripts put ghost\/1 <file>` first/,
    );
    const receipts = await readAudit(nc, { action: 'run.start' });
    assert.ok(receipts.events.every((e) => (e.details as { jobId?: string }).jobId !== 'ghost'));

    // A schedule fire records a skip naming the object instead of retrying forever.
    await writeFile(
      join(s.dir, 'ghost-often.yaml'),
      'kind: schedule\nid: ghost-often\njob: ghost\ntarget: { pcs: [pc-x] }\ncron: "*/1 * * * * *"\nstarting_deadline: 1m\n',
    );
    assert.equal((await s.cli(['apply', '-f', 'ghost-often.yaml'])).code, 0);
    const sch = new Scheduler({ nc: await s.server.connect('sched'), logger: { info() {}, error() {} } });
    await sch.start();
    try {
      const skip = await waitFor(
        'an object_missing skip',
        async () =>
          (await readAudit(nc, { action: 'schedule.skip', target: 'ghost-often' })).events.find(
            (e) => e.details?.['reason'] === 'object_missing',
          ),
        { intervalMs: 100 },
      );
      assert.match(
        skip.details?.['message'] as string,
        /script 'ghost\/1' does not exist in the scripts store/,
      );
    } finally {
      await sch.stop();
    }
    assert.equal((await s.cli(['schedules', 'rm', 'ghost-often'])).code, 0);
  });

  test('a job gets its packages as verified files: BATON_PACKAGE_<NAME> and BATON_PACKAGES_DIR', async () => {
    await writeFile(join(s.dir, 'tool-cli.tar'), 'the tool, version 2\n');
    const pkg = await s.json<{ sha256: string; file: string }>(['packages', 'put', 'tool-cli/2.0', 'tool-cli.tar']); // prettier-ignore
    assert.equal(pkg.file, 'tool-cli.tar');
    await putJobYaml(
      nc,
      'uses-tool',
      '  packages: [tool-cli/2.0]\n  script: |\n    cat "$BATON_PACKAGE_TOOL_CLI"\n    ls "$BATON_PACKAGES_DIR/tool-cli"\n',
    );
    agents.push(await startAgent(s.server.url, 'pc-pkg'));
    const run = await runJob(nc, 'uses-tool', [{ kind: 'pc', pcId: 'pc-pkg' }]);
    const [r] = await collectResults(nc, run.requestIds, 1);
    assert.equal(r?.status, 'ok', out(r, 'stderr'));
    assert.equal(out(r), 'the tool, version 2\ntool-cli.tar\n');
    assert.deepEqual(parseRunStart(run.receipt.details).packages, [
      { object: 'tool-cli/2.0', sha256: pkg.sha256, size: 20, file: 'tool-cli.tar' },
    ]);
    // One that does not fit the store is refused before uploading (the test store is 8 MiB).
    await writeFile(join(s.dir, 'huge.bin'), Buffer.alloc(9 * 1024 * 1024));
    const huge = await s.cli(['packages', 'put', 'huge/1', 'huge.bin']);
    assert.equal(huge.code, 1, huge.stderr);
    assert.match(
      huge.stderr,
      /huge\.bin is 9437184 bytes but the app_packages store has \d+ of \d+ bytes free/,
    );
    // Removing a package a job names is refused unless forced.
    const rm = await s.cli(['packages', 'rm', 'tool-cli/2.0']);
    assert.equal(rm.code, 3);
    assert.match(rm.stderr, /used by job\(s\) uses-tool/);
  });

  test('packages put/get stream a 300 MB file with bounded memory (peak RSS of the CLI child)', async () => {
    const SIZE = 300 * 1024 * 1024;
    // Room for it: the test topology's app_packages store is 8 MiB.
    const limits = structuredClone(TEST_TOPOLOGY.limits ?? DEFAULT_LIMITS);
    limits.objectStores.app_packages.maxBytes = 400 * 1024 * 1024;
    await ensureTopology(nc, { ...TEST_TOPOLOGY, limits });
    const big = join(s.dir, 'big.bin');
    const fh = await open(big, 'w');
    const block = randomBytes(1024 * 1024);
    const hash = createHash('sha256');
    for (let i = 0; i < SIZE / block.length; i++) {
      block.writeUInt32LE(i, 0); // every MiB differs
      hash.update(block);
      await fh.write(block);
    }
    await fh.close();
    const sha256 = hash.digest('hex');

    // The same CLI doing no transfer, for comparison.
    const idle = await measured(s, ['packages', 'ls', '--json']);
    assert.equal(idle.code, 0, idle.stderr);
    const put = await measured(s, ['packages', 'put', 'big/1', 'big.bin', '--json']);
    assert.equal(put.code, 0, put.stderr);
    const info = JSON.parse(put.stdout) as { sha256: string; size: number };
    assert.equal(info.sha256, sha256);
    assert.equal(info.size, SIZE);

    const get = await measured(s, ['packages', 'get', 'big/1', '-o', 'copy.bin', '--json']);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(await sha256File(join(s.dir, 'copy.bin')), sha256);
    console.log(
      `peak RSS: packages ls ${mib(idle.peakRssBytes)} MiB, put ${mib(put.peakRssBytes)} MiB, get ${mib(get.peakRssBytes)} MiB (file ${mib(SIZE)} MiB; put ${put.ms} ms, get ${get.ms} ms)`,
    );
    // Far below the file size: a whole-file buffer would add 300 MiB and more. What a transfer
    // adds to the idle CLI is chunks in flight (4 MiB) plus garbage not yet collected.
    const BOUND = 96 * 1024 * 1024;
    assert.ok(
      put.peakRssBytes - idle.peakRssBytes < BOUND,
      `put adds ${mib(put.peakRssBytes - idle.peakRssBytes)} MiB`,
    );
    assert.ok(
      get.peakRssBytes - idle.peakRssBytes < BOUND,
      `get adds ${mib(get.peakRssBytes - idle.peakRssBytes)} MiB`,
    );
    const again = await s.cli(['packages', 'get', 'big/1', '-o', 'copy.bin']);
    assert.equal(again.code, 3, 'an existing file is not overwritten without --force');
  });
});

const mib = (n: number) => Math.round(n / (1024 * 1024));

/**
 * Runs the `baton` CLI as a child and samples its peak RSS (VmHWM in /proc/<pid>/status, the
 * kernel's high-water mark, so a sample taken late still includes every earlier peak).
 */
function measured(
  s: TestStack,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; peakRssBytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BATON_MAIN, ...args], {
      cwd: s.dir,
      env: { ...process.env, BATON_NATS_URL: s.server.url, BATON_ACTOR: 'tester' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const sample = async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
        if (kb) peak = Math.max(peak, Number(kb) * 1024);
      } catch {
        // the child just exited: its last sample stands
      }
    };
    const timer = setInterval(() => void sample(), 20);
    const bound = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      clearTimeout(bound);
      if (peak === 0) reject(new Error(`no RSS sample of baton ${args.join(' ')}`));
      else resolve({ code, stdout, stderr, peakRssBytes: peak, ms: Date.now() - t0 });
    });
  });
}
