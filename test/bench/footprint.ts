// Agent footprint: one real `baton agent` (one process: the launcher in its main thread, the agent
// in a worker thread), idle, sampled from /proc every second for `seconds` (default 60): RSS with
// any child processes it has (none at idle; the peak, the first sample and the last) and CPU share.
// No raw ceiling: the targets are absolute (<= 80 MB RSS, < 1% CPU).
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { agentReady, spawnAgent } from '../helpers/fleet.js';
import { MiB, sampleProcess, startBenchServer } from './platform.js';
import { absoluteFigure, type BenchReport } from './report.js';

/** The process and its children (none at idle; a child here would be a second Node process), summed. */
function sampleTree(pid: number): { cpuSec: number; rssBytes: number; processes: number; threads: number } {
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  const samples = [pid, ...kids.map(Number)].map(sampleProcess);
  const threads = Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return {
    cpuSec: samples.reduce((a, x) => a + x.cpuSec, 0),
    rssBytes: samples.reduce((a, x) => a + x.rssBytes, 0),
    processes: samples.length,
    threads,
  };
}

export async function runFootprintBench(opts: { seconds: number }): Promise<BenchReport> {
  const b = await startBenchServer(1 / 32);
  const dataDir = join(b.dir, 'agent');
  await mkdir(dataDir, { recursive: true });
  const agent = spawnAgent(b.server.url, 'idle-01', dataDir);
  try {
    await agentReady(agent);
    const pid = agent.child.pid!;
    await delay(1_000); // past start-up
    const s0 = sampleTree(pid);
    const w0 = performance.now();
    let peak = s0.rssBytes;
    for (let i = 0; i < opts.seconds; i++) {
      await delay(1_000);
      peak = Math.max(peak, sampleTree(pid).rssBytes);
    }
    const s1 = sampleTree(pid);
    const cpuPct = ((s1.cpuSec - s0.cpuSec) / ((performance.now() - w0) / 1000)) * 100;
    const rssMb = peak / 1_000_000;
    return {
      name: 'footprint',
      title: `Agent footprint: one idle \`baton agent\` (launcher thread + agent worker) over ${opts.seconds} s`,
      notes: [
        'sampled from /proc/<pid>/stat and status once a second (CPU resolution 10 ms); default heartbeat 15 s',
        `RSS 1 s after start ${(s0.rssBytes / MiB).toFixed(1)} MiB, at the end ${(s1.rssBytes / MiB).toFixed(1)} MiB; ${s1.processes} process(es), ${s1.threads} threads`,
      ],
      figures: [
        absoluteFigure('idle RSS (peak)', rssMb, 'MB', { text: '<= 80 MB', met: rssMb <= 80 }),
        absoluteFigure('idle CPU', cpuPct, '% of a core', { text: '< 1%', met: cpuPct < 1 }),
      ],
    };
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
    await b.server.stop();
    await rm(b.dir, { recursive: true, force: true });
  }
}
