// The benchmarks in smoke mode (`npm run bench -- --smoke`: 50 simulated agents, small sizes,
// short windows), so the bench code cannot rot. Asserts that every benchmark ran and printed its
// table with a raw ceiling; never asserts timings (those belong to `npm run bench`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../bench/main.js', import.meta.url));

test(
  'npm run bench -- --smoke runs every benchmark and prints its tables',
  { timeout: 120_000 },
  async () => {
    const child = spawn(process.execPath, [MAIN, '--smoke'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0, `bench --smoke exited ${code}\n${out}\n${err}`);
    assert.match(out, /in-process executor/);
    for (const title of [
      /== Fan-out: one run to every agent/,
      /fan-out to 50: run -> all in SQLite\s+\d/,
      /fleet of 50: broker consumers\s+\d/,
      /== Projector: a burst of 500 results/,
      // Bursts need a server that can pause a consumer (2.11+); with trixie's 2.10 the bench says so.
      /the median of 1 burst\(s\) into the running projector|no bursts \(nats-server [\d.]+ cannot pause/,
      /cold start \(a new projector against a backlog of 500 results/,
      /== Single run latency/,
      /exec true p50\s+[\d.]+\s+[\d.]+\s+ms\s+[\d.]+x/,
      /== Large output/,
      /== Scheduler: 200 enabled schedules/,
      /== Agent footprint/,
    ])
      assert.match(out, title);
  },
);

test(
  'the fan-out with its agents in child processes (--agent-procs 2); a bad count is refused',
  { timeout: 120_000 },
  async () => {
    const bench = async (args: string[]) => {
      const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      return { code, out };
    };
    const two = await bench(['--smoke', '--only', 'fanout', '--agent-procs', '2']);
    assert.equal(two.code, 0, two.out);
    assert.match(two.out, /fan-out to 50: run -> all in SQLite\s+\d/);
    assert.match(two.out, /in 2 child processes \(--agent-procs\)/);
    assert.match(two.out, /CPU during the fan-out: agents' 2 processes [\d.]+ s/);
    const bad = await bench(['--smoke', '--only', 'fanout', '--agent-procs', 'two']);
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /--agent-procs "two": expected a whole number >= 0/);
  },
);
