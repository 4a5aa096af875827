// Scheduler: N enabled schedules (daily, spread over the 1,440 minutes of a day, so about N/1440
// fire each minute, as a real fleet's would). Time for a Scheduler to load them (start() until
// every schedule has its loop), against the raw ceiling of reading the same N values with one KV
// watch; then the scheduler's CPU per minute while it ticks (its process's CPU time over the
// window, scaled to 60 s).
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Kvm } from '@nats-io/kv';
import { BUCKETS, ScheduleStore } from '../../src/kv/index.js';
import { Scheduler } from '../../src/scheduler/index.js';
import { parseManifestFile, parseSchedules } from '../../src/wire/index.js';
import { putJob } from '../helpers/jobs.js';
import { startBenchServer } from './platform.js';
import { absoluteFigure, timeFigure, type BenchReport } from './report.js';

export async function runSchedulerBench(opts: { n: number; tickSeconds: number }): Promise<BenchReport> {
  const b = await startBenchServer(1 / 8);
  const quiet = { info() {}, error() {} };
  let scheduler: Scheduler | null = null;
  try {
    await putJob(b.nc, 'tick', 'date');
    const yaml = Array.from(
      { length: opts.n },
      (_, i) =>
        `kind: schedule\nid: s-${i}\njob: tick\ntarget: { pcs: [pc-${i % 1000}] }\ncron: "${i % 60} ${Math.floor(i / 60) % 24} * * *"\ntimezone: UTC\n`,
    ).join('---\n');
    const parsed = parseSchedules(parseManifestFile(yaml, 'bench.yaml').others);
    const store = await ScheduleStore.open(b.nc);
    process.stderr.write(`scheduler: storing ${parsed.length} schedules...\n`);
    for (let i = 0; i < parsed.length; i += 200)
      await Promise.all(
        parsed.slice(i, i + 200).map((p) =>
          store.put(p.schedule, p.yaml, null, {
            actor: { kind: 'user', name: 'bench' },
            source: { via: 'apply' },
          }),
        ),
      );

    const kv = await new Kvm(b.nc).open(BUCKETS.schedules);
    const r0 = performance.now();
    const w = await kv.watch();
    let seen = 0;
    for await (const e of w) {
      if (e.operation === 'PUT') seen++;
      if (e.delta === 0) break;
    }
    const rawMs = performance.now() - r0;
    w.stop();

    scheduler = new Scheduler({ nc: b.nc, logger: quiet });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await scheduler.start();
    while (scheduler.active.length < opts.n) await delay(5);
    const loadMs = performance.now() - t0;
    const loadCpu = process.cpuUsage(cpu0);
    process.stderr.write(`scheduler: loaded in ${loadMs.toFixed(0)} ms; ticking ${opts.tickSeconds} s...\n`);
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await delay(opts.tickSeconds * 1000);
    const c1 = process.cpuUsage(c0);
    const wallMin = (performance.now() - w0) / 60_000;
    const cpuPerMinMs = (c1.user + c1.system) / 1000 / wallMin;
    return {
      name: 'scheduler',
      title: `Scheduler: ${opts.n} enabled schedules`,
      notes: [
        `schedules are daily at spread minutes (about ${(opts.n / 1440).toFixed(1)} fires per minute); raw: one KV watch reading the ${seen} values`,
        `CPU while loading: ${((loadCpu.user + loadCpu.system) / 1000).toFixed(0)} ms; ticking measured over ${opts.tickSeconds} s, scaled to a minute; the scheduler runs in the bench process, so its CPU is that process's`,
      ],
      figures: [
        timeFigure(`load ${opts.n} schedules`, loadMs, rawMs, 'ms', null),
        absoluteFigure('CPU per minute of ticking', cpuPerMinMs, 'ms CPU/min'),
        absoluteFigure('CPU share while ticking', cpuPerMinMs / 600, '% of a core'),
      ],
    };
  } finally {
    await scheduler?.stop();
    await b.server.stop();
    await rm(b.dir, { recursive: true, force: true });
  }
}
