// Agents for tests: real Agent objects in this process (fast), or real `baton agent` child
// processes (for crash tests with SIGKILL). Each gets its own data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { Agent } from '../../src/agent/index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { JobStore, startExecution, watchResults, type StartedExecution } from '../../src/kv/index.js';
import type { ExecResult, ExecTarget } from '../../src/wire/index.js';
import { BATON_MAIN } from './cli.js';
import { waitFor } from './wait.js';

export async function startAgent(
  url: string,
  pcId: string,
  dataDir?: string,
): Promise<Agent & { dataDir: string }> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), `baton-agent-${pcId}-`)));
  const agent = new Agent({ pcId, servers: url, dataDir: dir, logger: silentLogger, stopGraceMs: 2_000 });
  await agent.start();
  return Object.assign(agent, { dataDir: dir });
}

export type AgentProcess = {
  child: ChildProcess;
  dataDir: string;
  exited: Promise<number | null>;
  output: () => string;
};

/** `baton agent` (the launcher, which runs the agent as its child); `args` are more agent flags. */
export function spawnAgent(url: string, pcId: string, dataDir: string, args: string[] = []): AgentProcess {
  const child = spawn(
    process.execPath,
    [BATON_MAIN, 'agent', '--pc-id', pcId, '--data-dir', dataDir, '--stop-grace', '2', ...args],
    {
      env: { ...process.env, BATON_NATS_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, dataDir, exited, output: () => out };
}

/** Waits until the agent process reports it started (its consumer exists). */
export async function agentReady(p: AgentProcess): Promise<void> {
  await waitFor('agent to start', () => p.output().includes('agent started'), { timeoutMs: 15_000 });
}

/** Runs a stored job through the real publish path. */
export async function runJob(
  nc: NatsConnection,
  jobId: string,
  targets: ExecTarget[],
  extra: { deadlineMs?: number; overlap?: 'skip' | 'allow' | 'cancel_previous' } = {},
): Promise<StartedExecution> {
  const job = await (await JobStore.open(nc)).require(jobId);
  return startExecution(nc, {
    job,
    targets,
    trigger: { kind: 'adhoc', actor: 'test' },
    actor: { kind: 'user', name: 'test' },
    source: { via: 'cli' },
    ...extra,
  });
}

/** Collects results of requests until `count` arrived (or fails after the bound). */
export async function collectResults(
  nc: NatsConnection,
  requestIds: string[],
  count: number,
  timeoutMs = 20_000,
): Promise<ExecResult[]> {
  const got: ExecResult[] = [];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  await watchResults(
    nc,
    requestIds,
    (r) => {
      got.push(r);
      if (got.length >= count) ac.abort();
    },
    ac.signal,
  );
  clearTimeout(timer);
  if (got.length < count)
    throw new Error(
      `expected ${count} results, got ${got.length}: ${JSON.stringify(got.map((r) => [r.pcId, r.status]))}`,
    );
  return got;
}
