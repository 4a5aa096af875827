// Single-run latency: what `baton exec --pc <pc> -- true` does after its process started (subscribe
// to live output, startExecution with its receipt, wait for the result on RESULTS) against one real
// `baton agent` child process with the real executor; p50/p95/p99 over `runs` runs.
// Raw floor, same run: a JetStream request/response round trip (publish a request to a stream, a
// consumer takes it, spawns `true`, waits for it, publishes the response to a stream, the requester's
// consumer receives it).
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { consumerName, execScriptJob, startExecution, STREAMS, watchResults } from '../../src/kv/index.js';
import { newId } from '../../src/wire/index.js';
import { agentReady, spawnAgent } from '../helpers/fleet.js';
import { percentile, startBenchServer } from './platform.js';
import { timeFigure, type BenchReport } from './report.js';

async function batonExec(nc: NatsConnection, pcId: string): Promise<number> {
  const t0 = performance.now();
  const execId = newId();
  const live = nc.subscribe(`out.${pcId}.${execId}-0`);
  const started = await startExecution(nc, {
    job: execScriptJob('sh', 'true', 60_000, 'bench'),
    targets: [{ kind: 'pc', pcId }],
    trigger: { kind: 'adhoc', actor: 'bench' },
    actor: { kind: 'user', name: 'bench' },
    source: { via: 'cli' },
    execId,
    deadlineMs: 60_000,
  });
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 30_000);
  let status = '';
  await watchResults(
    nc,
    started.requestIds,
    (r) => {
      status = r.status;
      ac.abort();
    },
    ac.signal,
  );
  clearTimeout(timer);
  live.unsubscribe();
  if (status !== 'ok') throw new Error(`exec of true on ${pcId}: ${status || 'no result within 30 s'}`);
  return performance.now() - t0;
}

function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('true', [], { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', () => resolve());
  });
}

async function rawRoundTrips(nc: NatsConnection, runs: number): Promise<number[]> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_RR', subjects: ['benchrr.>'] });
  for (const [name, filter] of [
    ['req', 'benchrr.req'],
    ['resp', 'benchrr.resp'],
  ] as const)
    await jsm.consumers.add('BENCH_RR', {
      durable_name: name,
      filter_subject: filter,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
  const js = jetstream(nc);
  const requests = await (await js.consumers.get('BENCH_RR', 'req')).consume();
  const responses = await (await js.consumers.get('BENCH_RR', 'resp')).consume();
  const responder = (async () => {
    for await (const m of requests) {
      await spawnTrue();
      m.ack();
      await js.publish('benchrr.resp', m.data);
    }
  })();
  let arrived = null as (() => void) | null;
  const requester = (async () => {
    for await (const m of responses) {
      m.ack();
      arrived?.();
    }
  })();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const got = new Promise<void>((resolve) => (arrived = resolve));
    await js.publish('benchrr.req', String(i));
    await got;
    times.push(performance.now() - t0);
  }
  await requests.close();
  await responses.close();
  await Promise.all([responder, requester]);
  await jsm.streams.delete('BENCH_RR');
  return times;
}

export async function runLatencyBench(opts: { runs: number }): Promise<BenchReport> {
  const b = await startBenchServer(1 / 32);
  const dataDir = join(b.dir, 'agent');
  await mkdir(dataDir, { recursive: true });
  const agent = spawnAgent(b.server.url, 'lat-01', dataDir);
  try {
    return await measureLatency(b, agent, opts);
  } catch (err) {
    // What the agent and its consumer were doing, so a failed run can be diagnosed from its log.
    const info = await (
      await jetstreamManager(b.nc)
    ).consumers
      .info(STREAMS.exec, consumerName('lat-01'))
      .then((i) =>
        JSON.stringify({
          num_pending: i.num_pending,
          num_waiting: i.num_waiting,
          num_ack_pending: i.num_ack_pending,
          delivered: i.delivered,
        }),
      )
      .catch((e: unknown) => `consumer info failed: ${(e as Error).message}`);
    throw new Error(
      `${(err as Error).message}\nEXEC consumer: ${info}\nagent output (tail):\n${agent.output().slice(-6000)}`,
      { cause: err },
    );
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
    await b.server.stop();
    await rm(b.dir, { recursive: true, force: true });
  }
}

async function measureLatency(
  b: Awaited<ReturnType<typeof startBenchServer>>,
  agent: ReturnType<typeof spawnAgent>,
  opts: { runs: number },
): Promise<BenchReport> {
  {
    await agentReady(agent);
    process.stderr.write(`latency: agent ready; ${opts.runs} runs of exec true...\n`);
    for (let i = 0; i < 5; i++) await batonExec(b.nc, 'lat-01'); // warm-up, not counted
    const baton: number[] = [];
    for (let i = 0; i < opts.runs; i++) baton.push(await batonExec(b.nc, 'lat-01'));
    process.stderr.write('latency: raw round trips...\n');
    const raw = await rawRoundTrips(b.nc, opts.runs + 5);
    raw.splice(0, 5);
    baton.sort((x, y) => x - y);
    raw.sort((x, y) => x - y);
    return {
      name: 'latency',
      title: `Single run latency: exec of \`true\` on one agent, ${opts.runs} runs`,
      notes: [
        'baton: what `baton exec` does after its process started (live-output subscription, run.start receipt, ExecRequest, result read from RESULTS), against a real `baton agent` process with the real executor (spawns `sh script`, which runs `true`)',
        "raw floor: JetStream publish -> durable consumer -> spawn `true` -> JetStream publish -> requester's consumer, in one process",
        'the CLI process start (about 150-250 ms of Node.js start-up and imports) is not included in either',
      ],
      figures: (
        [
          ['p50', 50, 3],
          ['p95', 95, null],
          ['p99', 99, null],
        ] as const
      ).map(([label, p, max]) =>
        timeFigure(`exec true ${label}`, percentile(baton, p), percentile(raw, p), 'ms', max),
      ),
    };
  }
}
