// `npm run bench [-- --agents N] [--only a,b] [--smoke] [--write-docs]`: runs the benchmarks and
// prints one table each (baton next to the raw ceiling measured in the same run). A full run (no
// --only, no --smoke) also writes docs/benchmarks.md, .svg and .json; --write-docs forces it.
//   --agents N        fan-out sizes (default 1000,10000; comma separated)
//   --only <names>    fanout, projector, latency, large-output, scheduler, footprint
//   --smoke           small and quick (CI: test/integration/bench-smoke.test.ts): 50 agents, ...
//   --per-conn K      simulated agents per shared NATS connection (default 1000; 1 = one each)
//   --agent-procs K   spread the simulated agents over K child processes (default 0: this process)
//   --output-bytes B, --duration-ms D   the simulated executor's output size and run time
//   --runs, --mb, --schedules, --tick-seconds, --idle-seconds, --n and --rounds (projector)
//   --agent-root DIR  simulated agents' data dirs (e.g. /dev/shm, to take fsync out)
//   --profile DIR     CPU profile of the fan-out window (the agents' process)
//   --docs-only       rewrite docs/benchmarks.md/.svg from docs/benchmarks.json + findings.md
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { findNatsServer } from '../../src/shared/nats-binary.js';
import { runFanOutBench } from './fleet.js';
import { runFootprintBench } from './footprint.js';
import { runLargeOutputBench } from './large-output.js';
import { runLatencyBench } from './latency.js';
import {
  ceilingOf,
  formatProjectorBench,
  judgedRound,
  roundRatio,
  runProjectorBench,
  type ProjectorRound,
} from './projector.js';
import { runSchedulerBench } from './scheduler.js';
import { environment, formatReport, rateFigure, writeDocs, type BenchReport } from './report.js';

type Flags = Map<string, string>;

function parse(argv: string[]): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      flags.set('--only', [flags.get('--only'), a].filter(Boolean).join(',')); // `bench projector`
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) flags.set(a, 'true');
    else {
      flags.set(a, next);
      i++;
    }
  }
  return flags;
}

const quoteFlag = (v: string | undefined) => JSON.stringify(v ?? '');

const num = (f: Flags, name: string, full: number, smoke: number) =>
  Number(f.get(name) ?? (f.has('--smoke') ? smoke : full));

const BENCHES: Record<string, (f: Flags) => Promise<BenchReport>> = {
  async fanout(f) {
    const sizes = (f.get('--agents') ?? (f.has('--smoke') ? '50' : '1000,10000')).split(',').map(Number);
    const procs = num(f, '--agent-procs', 0, 0);
    if (!Number.isInteger(procs) || procs < 0)
      throw new Error(`--agent-procs ${quoteFlag(f.get('--agent-procs'))}: expected a whole number >= 0`);
    return runFanOutBench({
      sizes,
      sim: { outputBytes: num(f, '--output-bytes', 1024, 1024), durationMs: num(f, '--duration-ms', 10, 10) },
      agentsPerConnection: num(f, '--per-conn', 1000, 1000),
      startConcurrency: num(f, '--start-concurrency', 100, 50),
      agentProcs: procs,
      ...(f.get('--agent-root') ? { agentRoot: f.get('--agent-root')! } : {}),
      ...(f.get('--profile') ? { profileDir: f.get('--profile')! } : {}),
    });
  },
  async projector(f) {
    const n = num(f, '--n', 20_000, 500);
    const result = await runProjectorBench({
      n,
      pcsPerExec: num(f, '--pcs', 500, 50),
      rounds: num(f, '--rounds', 5, 1),
    });
    process.stderr.write(`${formatProjectorBench(result, n)}\n`);
    const judged = judgedRound(result);
    const share = (r: ProjectorRound) => `${(roundRatio(r) * 100).toFixed(0)}%`;
    const { cold } = result;
    return {
      name: 'projector',
      title: `Projector: a burst of ${n} results`,
      notes: [
        result.bursts.length > 0
          ? `the median of ${result.bursts.length} burst(s) into the running projector (each: its executions announced and projected, its RESULTS consumer paused, ${n} results published, the raw ceilings measured over them, the pause ended); the projector's share in each: ${result.bursts.map(share).join(', ')}`
          : `no bursts (${result.burstsSkipped ?? 'none asked for'}): the cold start below`,
        `raw consume+ack ${judged.consume.perSec.toFixed(0)}/s, raw SQLite batched insert ${judged.insert.perSec.toFixed(0)}/s; the ceiling is the slower of the two`,
        ...(result.bursts.length > 0
          ? [
              'a burst is timed from the moment the server began delivering it to the projector until every result was applied',
            ]
          : []),
        `cold start (a new projector against a backlog of ${n} results and their run.start receipts, timed from start() returning; the start took ${cold.startMs.toFixed(0)} ms): ${cold.projector.perSec.toFixed(0)} results/s, ${share(cold)} of that round's ceiling (${ceilingOf(cold).toFixed(0)}/s)`,
        'the projector runs in the bench process',
      ],
      figures: [
        rateFigure(
          'results projected per second',
          judged.projector.perSec,
          ceilingOf(judged),
          'results/s',
          0.5,
        ),
      ],
    };
  },
  latency: (f) => runLatencyBench({ runs: num(f, '--runs', 200, 20) }),
  'large-output': (f) => runLargeOutputBench({ mb: num(f, '--mb', 100, 5) }),
  scheduler: (f) =>
    runSchedulerBench({
      n: num(f, '--schedules', 10_000, 200),
      tickSeconds: num(f, '--tick-seconds', 60, 2),
    }),
  footprint: (f) => runFootprintBench({ seconds: num(f, '--idle-seconds', 60, 2) }),
};

const flags = parse(process.argv.slice(2));
const docsDir = fileURLToPath(new URL('../../../docs', import.meta.url));
const findingsFile = fileURLToPath(new URL('../../../test/bench/findings.md', import.meta.url));
if (flags.has('--docs-only')) {
  // Rewrites docs/benchmarks.md and .svg from docs/benchmarks.json (the last full run) and the
  // current findings.md, without measuring again.
  const last = JSON.parse(await readFile(`${docsDir}/benchmarks.json`, 'utf8')) as {
    env: Parameters<typeof writeDocs>[1];
    reports: BenchReport[];
  };
  await writeDocs(docsDir, last.env, last.reports, await readFile(findingsFile, 'utf8').catch(() => ''));
  console.log(`rewrote ${docsDir}/benchmarks.md and benchmarks.svg from benchmarks.json`);
  process.exit(0);
}
const only = flags.get('--only')?.split(',').filter(Boolean) ?? Object.keys(BENCHES);
const unknown = only.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
console.log(
  'simulated agents (fan-out) run the real Agent code with script execution replaced by an in-process executor',
);
const reports: BenchReport[] = [];
let failed = false;
for (const name of only) {
  try {
    const r = await BENCHES[name]!(flags);
    reports.push(r);
    console.log(formatReport(r));
  } catch (err) {
    failed = true;
    console.error(`benchmark ${name} failed:`, err);
  }
}
const full = !flags.has('--only') && !flags.has('--smoke');
if ((full || flags.has('--write-docs')) && !failed) {
  const nats = (await findNatsServer()).found?.path ?? null;
  const docs = docsDir;
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  // Profiles, fixes and before/after numbers are written by hand next to this file and kept in
  // the generated page.
  const findings = await readFile(findingsFile, 'utf8').catch(() => '');
  await writeDocs(docs, environment(nats, command), reports, findings);
  console.log(`wrote ${docs}/benchmarks.md, benchmarks.svg, benchmarks.json`);
}
process.exit(failed ? 1 : 0);
