// The soak: a whole platform under a steady schedule load for a long time, sampling the memory
// (RSS) and open file descriptors of every process, then judging whether any of them grows.
// Defaults: 200 agents, 3 schedules firing every minute at all of them, 30 minutes, a sample
// every 30 s. `npm run soak -- --help` lists the flags; docs/operations.md explains the output.
//
// Processes, all real: nats-server (or 3 with --cluster), `baton scheduler`, `baton projector`,
// `baton backend`, and one agents process running N real agents with real script children.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  DEFAULT_LIMITS,
  ensureTopology,
  scaleLimits,
  STREAMS,
  type TopologyLimits,
  type TopologyOptions,
} from '../../src/kv/index.js';
import { freePorts } from '../../src/shared/nats-cluster.js';
import { parseDuration } from '../../src/wire/index.js';
import { baton, BATON_MAIN } from '../helpers/cli.js';
import { startTestCluster } from '../helpers/nats-cluster.js';
import { startTestServer } from '../helpers/nats-server.js';
import { trendOf, type Sample } from './trend.js';

const HELP = `npm run soak -- [flags]
  --agents <n>      agents in the agents process (default 200)
  --schedules <n>   schedules, each firing every minute at every agent (default 3)
  --duration <d>    how long to run after the fleet is up: 30m, 5m, 90s (default 30m)
  --sample <d>      time between samples (default 30s)
  --cluster         run on a 3-node cluster with R3 streams instead of one nats-server
  --retention <d>   max age (and dedup window, up to 20m) of every stream, e.g. 10m: stored
                    messages then age out during the soak, so the broker's memory for them levels
                    off (default: the defaults' 7-365 days, so the broker's memory grows with what
                    it stores; docs/operations.md "Soak")`;

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '200' },
    schedules: { type: 'string', default: '3' },
    duration: { type: 'string', default: '30m' },
    sample: { type: 'string', default: '30s' },
    cluster: { type: 'boolean', default: false },
    retention: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const whole = (flag: string, raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${flag}: '${raw}' is not a positive whole number\n${HELP}`);
    process.exit(2);
  }
  return n;
};
const agentsN = whole('agents', values.agents);
const schedulesN = whole('schedules', values.schedules);
const durationMs = parseDuration(values.duration);
const sampleMs = parseDuration(values.sample);

const MiB = 1024 * 1024;
/** Byte limits of the soak's topology: 1/16 of the defaults (about 1 GiB reserved per node). */
const TOPOLOGY: TopologyOptions = {
  replicas: values.cluster ? 3 : 1,
  limits: withRetention(scaleLimits(DEFAULT_LIMITS, 1 / 16), values.retention),
};

/** Every stream's max age set to `retention`, its dedup window to at most that. */
function withRetention(limits: TopologyLimits, retention: string | undefined): TopologyLimits {
  if (retention === undefined) return limits;
  const maxAgeMs = parseDuration(retention);
  const streams = Object.fromEntries(
    Object.entries(limits.streams).map(([name, l]) => [
      name,
      { ...l, maxAgeMs, duplicateWindowMs: Math.min(l.duplicateWindowMs, maxAgeMs) },
    ]),
  ) as TopologyLimits['streams'];
  return { ...limits, streams };
}

function sample(pid: number): { rssBytes: number; fds: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { rssBytes: rssKb * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null; // the process is gone
  }
}

const work = await mkdtemp(join(tmpdir(), 'baton-soak-'));
const serverConfig = fileURLToPath(new URL('../../../nats-server.conf', import.meta.url));
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

// ---- the broker -------------------------------------------------------------------------
const watched: { name: string; pid: () => number | null }[] = [];
let urls: string;
let stopBroker: () => Promise<void>;
if (values.cluster) {
  const c = await startTestCluster(TOPOLOGY);
  urls = c.urls.join(',');
  c.cluster.nodes.forEach((n, i) =>
    watched.push({ name: `nats-${n.name}`, pid: () => c.cluster.process(i)?.pid ?? null }),
  );
  stopBroker = () => c.stop();
} else {
  const s = await startTestServer(['-c', serverConfig]);
  const nc = await s.connect('soak-setup');
  await ensureTopology(nc, TOPOLOGY);
  urls = s.url;
  const pid = Number(/nats-server_(\d+)\.ports/.exec(readdirSync(join(s.dir, 'run')).join(' '))?.[1]);
  watched.push({ name: 'nats-server', pid: () => pid });
  stopBroker = () => s.stop();
}

// ---- the platform processes -------------------------------------------------------------
const children: { name: string; child: ChildProcess }[] = [];
const env = { ...process.env, BATON_NATS_URL: urls, BATON_ACTOR: 'soak' };
const start = (name: string, args: string[]) => {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', (code, signal) => {
    if (!stopping) log(`! ${name} exited (${code ?? signal}) during the soak:\n${out}`);
  });
  children.push({ name, child });
  watched.push({ name, pid: () => child.pid ?? null });
  return { child, output: () => out };
};
let stopping = false;
const [apiPort] = await freePorts(1);
const dbPath = join(work, 'baton.db');
start('scheduler', [BATON_MAIN, 'scheduler']);
start('projector', [BATON_MAIN, 'projector', '--db', dbPath, '--instance', 'soak']);
start('backend', [
  BATON_MAIN,
  'backend',
  '--port',
  String(apiPort),
  '--db',
  join(work, 'backend.db'),
  '--no-setup',
]);
const agents = start('agents', [
  fileURLToPath(new URL('./agents.js', import.meta.url)),
  '--servers', urls, '--count', String(agentsN), '--dir', join(work, 'agents'),
]); // prettier-ignore
const readyBy = Date.now() + 60_000 + agentsN * 200;
while (!agents.output().includes('agents ready')) {
  if (Date.now() > readyBy || agents.child.exitCode !== null)
    throw new Error(`the agents process did not get ready:\n${agents.output()}`);
  await delay(250);
}
log(`${agentsN} agents up on ${urls}`);

// ---- the load: schedules firing every minute at every agent -----------------------------
const manifests = Array.from({ length: schedulesN }, (_, i) => `
kind: job
id: soak-${i}
version: "1"
execute:
  shell: sh
  timeout: 30s
  script: |
    echo "soak ${i} on $BATON_PC_ID"
    uname -a
---
kind: schedule
id: soak-${i}
job: soak-${i}
target: { all: true }
cron: "* * * * *"
jitter: 20s
starting_deadline: 1m
`).join('---\n'); // prettier-ignore
await writeFile(join(work, 'soak.yaml'), manifests);
const applied = await baton(['apply', '-f', join(work, 'soak.yaml')], { env });
if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
log(
  `${schedulesN} schedules every minute at all agents; sampling every ${sampleMs / 1000}s for ${durationMs / 1000}s`,
);

// ---- sampling ----------------------------------------------------------------------------
const series = new Map<string, Sample[]>(watched.map((w) => [w.name, []]));
const t0 = Date.now();
const header = ['t(s)', ...watched.map((w) => w.name), 'stored msgs'];
// Messages the streams hold: the broker's memory grows with them (a per-subject index entry for
// each result's own subject, a dedup entry per message id within the window).
const probe = await connect({ servers: urls.split(','), name: 'soak-probe' });
const probeJsm = await jetstreamManager(probe);
const storedMessages = async (): Promise<number | null> => {
  try {
    let n = 0;
    for (const name of Object.values(STREAMS)) n += (await probeJsm.streams.info(name)).state.messages;
    return n;
  } catch {
    return null; // a cluster election; the next sample has it
  }
};
const stored: { atSec: number; messages: number }[] = [];
console.log(`\nRSS MiB / open fds per process\n${header.map((h) => h.padStart(14)).join('')}`);
for (;;) {
  const atSec = Math.round((Date.now() - t0) / 1000);
  const cells = watched.map((w) => {
    const pid = w.pid();
    const s = pid ? sample(pid) : null;
    if (s) series.get(w.name)!.push({ atSec, ...s });
    return s ? `${(s.rssBytes / MiB).toFixed(1)}/${s.fds}` : 'gone';
  });
  const messages = await storedMessages();
  if (messages !== null) stored.push({ atSec, messages });
  console.log([String(atSec), ...cells, String(messages ?? '?')].map((c) => c.padStart(14)).join(''));
  if (Date.now() - t0 >= durationMs) break;
  await delay(Math.min(sampleMs, durationMs - (Date.now() - t0)));
}

// ---- the work done, then stop -------------------------------------------------------------
await delay(5_000); // let the last fire's results reach the projection
await probe.close();
const db = new Database(dbPath, { readonly: true });
const work_ = db
  .prepare(
    `SELECT COUNT(*) AS execs, COALESCE(SUM(total), 0) AS total, COALESCE(SUM(ok), 0) AS ok,
            COALESCE(SUM(queued + delivered + running), 0) AS open FROM executions`,
  )
  .get() as { execs: number; total: number; ok: number; open: number };
db.close();
stopping = true;
const exits = children
  .filter((c) => c.child.exitCode === null && c.child.signalCode === null)
  .map((c) => new Promise<void>((resolve) => c.child.once('exit', () => resolve())));
for (const c of children) c.child.kill('SIGTERM');
await Promise.all(exits);
await stopBroker();
await rm(work, { recursive: true, force: true });

console.log(
  `\nwork: ${work_.execs} executions fired, ${work_.ok} ok results of ${work_.total} expected` +
    ` (${work_.open} still open at the end: the last minute's runs)`,
);
console.log(
  "\ntrend after the first third: least-squares line through each minute's lowest RSS and fd count",
);
console.log(
  `${'process'.padEnd(14)}${'mean RSS'.padStart(11)}${'RSS growth'.padStart(12)}${'fd growth'.padStart(11)}${'RSS/h'.padStart(12)}  verdict`,
);
let growing = 0;
for (const [name, samples] of series) {
  const t = trendOf(samples);
  if (t.verdict === 'growing') growing++;
  console.log(
    `${name.padEnd(14)}${`${(t.meanRssBytes / MiB).toFixed(1)} MiB`.padStart(11)}` +
      `${`${(t.rssGrowthBytes / MiB).toFixed(1)} MiB`.padStart(12)}${t.fdGrowth.toFixed(1).padStart(11)}` +
      `${`${(t.rssBytesPerHour / MiB).toFixed(1)} MiB`.padStart(12)}  ${t.verdict}`,
  );
}
const firstStored = stored.find((x) => x.atSec >= (stored.at(-1)?.atSec ?? 0) / 3);
const lastStored = stored.at(-1);
if (firstStored && lastStored && lastStored.messages - firstStored.messages >= 1000) {
  const added = lastStored.messages - firstStored.messages;
  for (const [name, samples] of series) {
    if (!name.startsWith('nats')) continue;
    const t = trendOf(samples);
    console.log(
      `${name}: ${(t.rssGrowthBytes / MiB).toFixed(1)} MiB over ${added} more stored messages ` +
        `(${Math.round(t.rssGrowthBytes / added)} B each; docs/operations.md "Soak")`,
    );
  }
}
console.log(growing === 0 ? '\nno growth trend' : `\n${growing} process(es) growing`);
process.exit(growing === 0 ? 0 : 1);
