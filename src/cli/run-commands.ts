// `baton run`, `baton exec`, `baton kill`: starting and stopping executions. They talk to NATS
// directly (publishing requests, reading RESULTS), so they work without the backend/projector.
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  JobStore,
  execScriptJob,
  publishAudit,
  readOutput,
  requestKill,
  startExecution,
  watchResults,
  type StartedExecution,
} from '../kv/index.js';
import { newId, PcId, type ExecResult } from '../wire/index.js';
import { BATON_OUT_EOF, BATON_OUT_SEQ, BATON_OUT_STREAM } from '../wire/index.js';
import { cliActor } from './actor.js';
import { parseDurationFlag } from './flags.js';
import { CliError, EXIT } from './exit-codes.js';
import { formatTable, printJson } from './output.js';
import { action, globals, withNats } from './runtime.js';
import { parseParams, parseTargets } from './targets.js';

const FINAL_OK = 'ok';

/** Waits for the results of an execution; resolves when every expected pc answered or the deadline (+ grace) passed. */
async function waitForExecution(
  nc: NatsConnection,
  started: StartedExecution,
  opts: { timeoutMs: number; progress: boolean },
): Promise<{ results: Map<string, ExecResult>; missing: string[] }> {
  const results = new Map<string, ExecResult>();
  const expected = new Set(started.expectedPcs);
  const ac = new AbortController();
  const untilDeadline = Date.parse(started.deadlineAt) - Date.now();
  const timer = setTimeout(() => ac.abort(), Math.max(0, Math.min(opts.timeoutMs, untilDeadline + 5_000)));
  const line = () => {
    if (!opts.progress) return;
    const bad = [...results.values()].filter((r) => r.status !== FINAL_OK).length;
    process.stderr.write(`\r${results.size}/${expected.size} done, ${bad} not ok   `);
  };
  line();
  await watchResults(
    nc,
    started.requestIds,
    (r) => {
      results.set(r.pcId, r);
      line();
      // Pcs that were not expected (joined a group later) still count; done when all expected answered.
      if ([...expected].every((pc) => results.has(pc)) && expected.size > 0) ac.abort();
    },
    ac.signal,
  );
  clearTimeout(timer);
  if (opts.progress) process.stderr.write('\n');
  return { results, missing: [...expected].filter((pc) => !results.has(pc)) };
}

async function run(
  cmd: Command,
  jobId: string,
  flags: { target: string; wait?: boolean; timeout: string; deadline?: string; param: string[] },
) {
  const targets = parseTargets(flags.target);
  const params = parseParams(flags.param);
  const json = globals(cmd).json;
  const waitMs = parseDurationFlag('--timeout', flags.timeout);
  const deadlineMs = flags.deadline ? parseDurationFlag('--deadline', flags.deadline) : undefined;
  return withNats(cmd, async (nc) => {
    const job = await (await JobStore.open(nc)).require(jobId);
    const actor = cliActor();
    const started = await startExecution(nc, {
      job,
      targets,
      trigger: { kind: 'adhoc', actor: actor.name },
      actor,
      source: { via: 'cli' },
      ...(deadlineMs !== undefined ? { deadlineMs } : {}),
      params,
    });
    if (!flags.wait) {
      if (json)
        printJson({
          execId: started.execId,
          expectedPcs: started.expectedPcs,
          deadlineAt: started.deadlineAt,
          params: started.params,
        });
      else
        console.log(
          `${started.execId}  (${started.expectedPcs.length} expected: ${started.expectedPcs.join(', ') || 'none known'})`,
        );
      return;
    }
    if (!json) console.log(started.execId);
    const { results, missing } = await waitForExecution(nc, started, {
      timeoutMs: waitMs,
      progress: !json && process.stderr.isTTY === true,
    });
    const rows = [
      ...[...results.values()].map((r) => ({
        pcId: r.pcId,
        status: r.status,
        exitCode: r.exitCode,
        reason: r.reason ?? null,
        durationMs: r.durationMs,
      })),
      ...missing.map((pcId) => ({
        pcId,
        status: Date.now() > Date.parse(started.deadlineAt) ? 'expired' : 'pending',
        exitCode: null,
        reason: null,
        durationMs: null,
      })),
    ].sort((a, b) => a.pcId.localeCompare(b.pcId));
    const allOk = rows.length > 0 && rows.every((r) => r.status === FINAL_OK);
    if (json) printJson({ execId: started.execId, ok: allOk, params: started.params, results: rows });
    else
      console.log(
        formatTable(rows, [
          { header: 'PC', value: (r) => r.pcId },
          { header: 'STATUS', value: (r) => r.status },
          { header: 'EXIT', value: (r) => r.exitCode, align: 'right' },
          { header: 'REASON', value: (r) => r.reason ?? '' },
          {
            header: 'DURATION',
            value: (r) => (r.durationMs === null ? '' : `${r.durationMs} ms`),
            align: 'right',
          },
        ]),
      );
    return allOk ? EXIT.ok : EXIT.failed;
  });
}

/** Exit code of `baton exec` for a result that has no exit code of its own. */
const STATUS_EXIT: Record<string, number> = {
  timeout: 124,
  killed: 137,
  skipped: EXIT.failed,
  error: EXIT.failed,
};

async function exec(
  cmd: Command,
  script: string[],
  flags: { pc: string; shell: string; timeout: string; deadline: string },
) {
  if (!PcId.safeParse(flags.pc).success)
    throw new CliError(`--pc: '${flags.pc}' is not a valid pc id`, EXIT.usage);
  if (!['sh', 'bash', 'pwsh', 'powershell', 'cmd'].includes(flags.shell)) {
    throw new CliError(
      `--shell: '${flags.shell}' is not allowed; expected one of sh, bash, pwsh, powershell, cmd`,
      EXIT.usage,
    );
  }
  const body = script.join(' ');
  if (!body.trim())
    throw new CliError(
      "exec: give the script after '--', e.g. baton exec --pc web-01 -- 'uptime'",
      EXIT.usage,
    );
  const timeoutMs = parseDurationFlag('--timeout', flags.timeout);
  const deadlineMs = parseDurationFlag('--deadline', flags.deadline);
  return withNats(cmd, async (nc) => {
    const execId = newId();
    const requestId = `${execId}-0`;
    // Subscribe to live output before the request exists, so no chunk is missed.
    const live = nc.subscribe(`out.${flags.pc}.${requestId}`);
    let nextSeq = 1;
    let liveBytes = { stdout: 0, stderr: 0 };
    let complete = true;
    const pump = (async () => {
      for await (const m of live) {
        const seq = Number(m.headers?.get(BATON_OUT_SEQ));
        if (seq !== nextSeq) complete = false;
        nextSeq = seq + 1;
        if (m.headers?.get(BATON_OUT_EOF)) complete = false;
        const which = m.headers?.get(BATON_OUT_STREAM) === 'stderr' ? 'stderr' : 'stdout';
        liveBytes = { ...liveBytes, [which]: liveBytes[which] + m.data.length };
        (which === 'stderr' ? process.stderr : process.stdout).write(m.data);
      }
    })();
    const actor = cliActor();
    const started = await startExecution(nc, {
      job: execScriptJob(flags.shell as 'sh', body, timeoutMs, actor.name),
      targets: [{ kind: 'pc', pcId: flags.pc }],
      trigger: { kind: 'adhoc', actor: actor.name },
      actor,
      source: { via: 'cli' },
      execId,
      deadlineMs,
    });
    const { results } = await waitForExecution(nc, started, {
      timeoutMs: timeoutMs + 90_000,
      progress: false,
    });
    live.unsubscribe();
    await pump;
    const r = results.get(flags.pc);
    if (!r)
      throw new CliError(
        `no result from ${flags.pc} (is its agent running?); exec id ${execId}`,
        EXIT.unavailable,
      );
    // Live output is best effort; when it missed anything, print the stored output instead.
    const gotAll = complete && liveBytes.stdout === r.stdout.bytes && liveBytes.stderr === r.stderr.bytes;
    if (!gotAll) {
      if (liveBytes.stdout + liveBytes.stderr > 0)
        process.stderr.write('\nbaton: live output was incomplete; the stored output follows\n');
      for await (const chunk of readOutput(nc, r.stdout)) process.stdout.write(chunk);
      for await (const chunk of readOutput(nc, r.stderr)) process.stderr.write(chunk);
    }
    if (r.status === 'skipped' || r.status === 'error')
      process.stderr.write(`baton: ${r.status} (${r.reason ?? 'no reason'})\n`);
    if (r.exitCode !== null && (r.status === 'ok' || r.status === 'failed')) return r.exitCode;
    return STATUS_EXIT[r.status] ?? EXIT.failed;
  });
}

async function kill(cmd: Command, execId: string) {
  return withNats(cmd, async (nc) => {
    const replies = await requestKill(nc, execId);
    const killed = replies.filter((r) => r.killed > 0);
    await publishAudit(nc, {
      actor: cliActor(),
      action: 'run.kill',
      target: { kind: 'exec', id: execId },
      revisionBefore: null,
      revisionAfter: null,
      source: { via: 'cli' },
      summary: `killed execution ${execId} on ${killed.length} pcs`,
      details: { pcs: killed.map((k) => k.pcId) },
    });
    if (globals(cmd).json)
      printJson({ execId, killedOn: killed.map((k) => k.pcId), answered: replies.length });
    else
      console.log(
        `kill sent: running on ${killed.length} of ${replies.length} agents that answered${killed.length ? `: ${killed.map((k) => k.pcId).join(', ')}` : ''}`,
      );
    return killed.length > 0 ? EXIT.ok : EXIT.notFound;
  });
}

export function registerRunCommands(program: Command): void {
  program
    .command('run <job-id>')
    .description('run a job on targets; prints the exec id (--wait: live progress and a per-pc summary)')
    .requiredOption('--target <targets>', 'all | group:<g> | pc:<id>, comma separated')
    .option('--wait', 'wait for the results; exit 0 only if every targeted agent succeeded')
    .option('--timeout <duration>', 'with --wait: give up waiting after this long', '1h')
    .option('--deadline <duration>', 'agents skip the request after this long (default 1h)')
    .option('--param <key=value>', 'a job parameter (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(action(async function (this: Command, jobId: string, flags: { target: string; wait?: boolean; timeout: string; deadline?: string; param: string[] }) {
      return run(this, jobId, flags);
    })); // prettier-ignore

  program
    .command('exec')
    .description("run an inline script on one pc, stream its output, exit with its exit code: baton exec --pc web-01 -- 'uptime'")
    .requiredOption('--pc <id>', 'the endpoint')
    .option('--shell <shell>', 'sh | bash | pwsh | powershell | cmd', 'sh')
    .option('--timeout <duration>', 'kill the script after this long', '5m')
    .option('--deadline <duration>', 'give up when the agent has not started it within this long', '1m')
    .argument('<script...>', 'the script (after --)')
    .action(action(async function (this: Command, script: string[], flags: { pc: string; shell: string; timeout: string; deadline: string }) {
      return exec(this, script, flags);
    })); // prettier-ignore

  program
    .command('kill <exec-id>')
    .description('kill the running scripts of an execution on every agent (whole process trees)')
    .action(action(async function (this: Command, execId: string) {
      return kill(this, execId);
    })); // prettier-ignore
}
