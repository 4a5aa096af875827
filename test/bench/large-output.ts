// Large output: a script printing `mb` MB on stdout, run by a real `baton agent` process (real
// executor: the bytes go through the pipe, the capture, the spill file, the object-store upload),
// projected by a real `baton projector` process (the row carries the pointer), then downloaded the
// way `baton results show` does (readOutput). Timed from startExecution to the last byte read.
// Raw ceiling, same run: object-store put + get of the same number of bytes from memory.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Objm } from '@nats-io/obj';
import { OBJECT_STORES, JobStore, readOutput, startExecution } from '../../src/kv/index.js';
import { agentReady, spawnAgent } from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { MiB, startBenchServer, startProjectorProcess } from './platform.js';
import { rateFigure, type BenchReport } from './report.js';

export async function runLargeOutputBench(opts: { mb: number }): Promise<BenchReport> {
  const bytes = opts.mb * 1_000_000;
  const b = await startBenchServer(1 / 4);
  const proj = await startProjectorProcess(b.server.url, b.dir);
  const dataDir = join(b.dir, 'agent');
  await mkdir(dataDir, { recursive: true });
  const agent = spawnAgent(b.server.url, 'big-01', dataDir);
  try {
    await agentReady(agent);
    await putJob(b.nc, 'big', `head -c ${bytes} /dev/zero`, { timeout: '10m' });
    const job = await (await JobStore.open(b.nc)).require('big');
    const t0 = performance.now();
    const started = await startExecution(b.nc, {
      job,
      targets: [{ kind: 'pc', pcId: 'big-01' }],
      trigger: { kind: 'adhoc', actor: 'bench' },
      actor: { kind: 'user', name: 'bench' },
      source: { via: 'cli' },
    });
    const tProjected = await proj.waitResults(started.execId, 1, 600_000);
    const db = new Database(proj.dbPath, { readonly: true });
    const row = db
      .prepare(
        'SELECT stdout_bucket AS bucket, stdout_object AS name, stdout_bytes AS bytes FROM results WHERE exec_id = ?',
      )
      .get(started.execId) as { bucket: string | null; name: string | null; bytes: number };
    db.close();
    if (!row.bucket || !row.name || row.bytes !== bytes)
      throw new Error(`large output: unexpected result row ${JSON.stringify(row)}`);
    let got = 0;
    for await (const chunk of readOutput(b.nc, {
      bytes,
      sha256: '',
      object: { bucket: row.bucket, name: row.name },
    }))
      got += chunk.length;
    const batonMs = performance.now() - t0;
    if (got !== bytes) throw new Error(`large output: downloaded ${got} of ${bytes} bytes`);

    const store = await new Objm(b.nc).open(OBJECT_STORES.resultOutput);
    const data = Buffer.alloc(bytes);
    const r0 = performance.now();
    await store.putBlob({ name: 'bench/raw' }, data);
    const back = await store.getBlob('bench/raw');
    const rawMs = performance.now() - r0;
    if (back?.length !== bytes) throw new Error('raw object store round trip lost bytes');
    const mbs = (ms: number) => bytes / MiB / (ms / 1000);
    return {
      name: 'large-output',
      title: `Large output: ${opts.mb} MB of stdout through the object store`,
      notes: [
        `baton: startExecution -> real agent runs \`head -c ${bytes} /dev/zero\` (pipe, sha256, spill file) -> object-store upload -> result -> projector row with the pointer (after ${((tProjected - t0) / 1000).toFixed(1)} s) -> download with readOutput (as \`baton results show\`)`,
        'raw: object-store putBlob + getBlob of the same bytes from memory, same server',
      ],
      figures: [rateFigure('end-to-end throughput', mbs(batonMs), mbs(rawMs), 'MiB/s', 0.5)],
    };
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
    await proj.stop();
    await b.server.stop();
    await rm(b.dir, { recursive: true, force: true });
  }
}
