// `baton runs ls|show|wait` and `baton results show`: executions and results from the projection
// (read-only SQLite; see docs/cli.md). Only `results show` of an overflowed output talks to NATS,
// to stream it from the object store.
import type { Command } from 'commander';
import { Objm } from '@nats-io/obj';
import { setTimeout as delay } from 'node:timers/promises';
import {
  EXECUTION_STATUSES,
  RUN_STATES,
  type ExecutionRow,
  type ExecutionStatus,
  type ReadModel,
} from '../projector/index.js';
import { formatTarget, inlineOutputBytes, type ExecTarget, type OutputStream } from '../wire/index.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { formatBytes, formatTable, printJson } from './output.js';
import { parseSince, withReadModel } from './projection-db.js';
import { parseCount, parseDurationFlag } from './flags.js';
import { action, globals, withNats } from './runtime.js';

const DB_OPTION = ['--db <path>', 'the projection database (default <data dir>/baton.db)'] as const;

/** `ok 3 failed 1 expired 2` with the non-zero counters only. */
export function countsLine(e: ExecutionRow): string {
  const parts = RUN_STATES.filter((s) => e.counts[s] > 0).map((s) => `${s} ${e.counts[s]}`);
  return parts.join('  ') || 'no runs';
}

function progressLine(e: ExecutionRow): string {
  const done = e.counts.total - e.counts.queued - e.counts.delivered - e.counts.running;
  return `${e.execId} ${e.jobId}: ${done}/${e.expected ?? '?'} final  ${countsLine(e)}`;
}

function findExecution(rm: ReadModel, execId: string): ExecutionRow {
  const e = rm.runs.get(execId);
  if (!e)
    throw new CliError(
      `no execution '${execId}' in the projection (is the projector running?)`,
      EXIT.notFound,
    );
  return e;
}

/** 0 when every run is ok, else 1. */
export function outcomeCode(e: ExecutionRow): ExitCode {
  return e.status === 'ok' ? EXIT.ok : EXIT.failed;
}

export function registerRunsCommands(program: Command): void {
  const runs = program
    .command('runs')
    .description('executions and their per-endpoint runs (from the projection)');

  runs
    .command('ls')
    .description('executions, newest first')
    .option('--job <id>', 'only this job')
    .option('--status <status>', `one of ${EXECUTION_STATUSES.join(', ')}`)
    .option('--since <when>', "started within a duration ('1h') or since an RFC 3339 time")
    .option('--limit <n>', 'at most n executions', '50')
    .option(...DB_OPTION)
    .action(
      action(async function (
        this: Command,
        f: { job?: string; status?: string; since?: string; limit: string; db?: string },
      ) {
        if (f.status !== undefined && !(EXECUTION_STATUSES as readonly string[]).includes(f.status)) {
          throw new CliError(
            `--status: '${f.status}' is not one of ${EXECUTION_STATUSES.join(', ')}`,
            EXIT.usage,
          );
        }
        const filter = {
          jobId: f.job,
          status: f.status as ExecutionStatus | undefined,
          since: parseSince(f.since),
          limit: parseCount('--limit', f.limit),
        };
        const rows = await withReadModel(f.db, (rm) => rm.runs.list(filter));
        if (globals(this).json) return printJson(rows);
        console.log(
          formatTable(rows, [
            { header: 'EXEC', value: (e) => e.execId },
            { header: 'JOB', value: (e) => `${e.jobId}@${e.jobVersion}` },
            { header: 'STARTED', value: (e) => e.startedAt },
            { header: 'BY', value: (e) => (e.trigger === 'schedule' ? `schedule:${e.scheduleId}` : e.actor) },
            { header: 'STATUS', value: (e) => e.status },
            { header: 'EXPECTED', value: (e) => e.expected, align: 'right' },
            { header: 'COUNTS', value: countsLine },
          ]),
        );
      }),
    );

  runs
    .command('show <exec-id>')
    .description('one execution: counters, per-endpoint runs, identical outputs grouped')
    .option(...DB_OPTION)
    .action(
      action(async function (this: Command, execId: string, f: { db?: string }) {
        const { e, rows, groups } = await withReadModel(f.db, (rm) => ({
          e: findExecution(rm, execId),
          rows: rm.runs.runs(execId),
          groups: rm.runs.outputGroups(execId),
        }));
        if (globals(this).json) return printJson({ ...e, runs: rows, outputGroups: groups });
        const targets = (e.targets as ExecTarget[]).map(formatTarget).join(', ');
        console.log(`execution ${e.execId}: ${e.jobId} ${e.jobVersion} (revision ${e.jobRevision ?? '?'})`);
        console.log(`  status    ${e.status}  (${countsLine(e)}; ${e.expected ?? '?'} expected)`);
        console.log(
          `  trigger   ${e.trigger ?? '?'} by ${e.actor ?? '?'}${e.scheduleId ? ` (schedule ${e.scheduleId} at ${e.fireAt})` : ''}`,
        );
        console.log(`  targets   ${targets || '?'}`);
        const params = Object.entries(e.params);
        // JSON-quoted when needed, so a value with spaces, quotes or newlines reads unambiguously.
        const show = (v: string) => (/^[\w.,:/@%+=-]*$/.test(v) ? v : JSON.stringify(v));
        if (params.length > 0)
          console.log(`  params    ${params.map(([k, v]) => `${k}=${show(v)}`).join(' ')}`);
        console.log(
          `  started   ${e.startedAt ?? '-'}  finished ${e.finishedAt ?? '-'}  deadline ${e.deadlineAt ?? '-'}`,
        );
        console.log('');
        console.log(
          formatTable(rows, [
            { header: 'PC', value: (r) => r.pcId },
            // `retrying (2)`: the latest result is attempt 1, attempt 2 is due; `ok (2)`: it took two.
            {
              header: 'STATE',
              value: (r) =>
                r.attempt > 1 || r.retryAt ? `${r.state} (${r.attempt + (r.retryAt ? 1 : 0)})` : r.state,
            },
            { header: 'EXIT', value: (r) => r.exitCode, align: 'right' },
            { header: 'REASON', value: (r) => r.reason },
            {
              header: 'DURATION',
              value: (r) => (r.durationMs === null ? null : `${r.durationMs} ms`),
              align: 'right',
            },
            { header: 'FINISHED', value: (r) => r.finishedAt },
            { header: 'RESULT', value: (r) => r.resultId },
          ]),
        );
        if (groups.length > 0) {
          console.log(`\n${groups.length} distinct output${groups.length === 1 ? '' : 's'}:`);
          console.log(
            formatTable(groups, [
              { header: 'PCS', value: (g) => g.count, align: 'right' },
              { header: 'STATUS', value: (g) => g.status },
              { header: 'EXIT', value: (g) => g.exitCode, align: 'right' },
              {
                header: 'STDOUT',
                value: (g) => `${g.stdoutSha256.slice(0, 12)} (${formatBytes(g.stdoutBytes)})`,
              },
              { header: 'SAMPLE', value: (g) => g.sampleResultId },
              { header: 'ON', value: (g) => g.pcs.slice(0, 5).join(',') + (g.pcs.length > 5 ? ',...' : '') },
            ]),
          );
        }
      }),
    );

  runs
    .command('wait <exec-id>')
    .description('wait until every expected endpoint has a final state; exit 0 only if all ran ok')
    .option('--timeout <duration>', 'give up after this long (exit 1)', '1h')
    .option(...DB_OPTION)
    .action(
      action(async function (this: Command, execId: string, f: { timeout: string; db?: string }) {
        const deadline = Date.now() + parseDurationFlag('--timeout', f.timeout);
        const tty = process.stderr.isTTY;
        return withReadModel(f.db, async (rm) => {
          let last = '';
          for (;;) {
            const e = rm.runs.get(execId);
            if (e) {
              const line = progressLine(e);
              if (line !== last) process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
              last = line;
              if (e.status !== 'running') {
                if (tty) process.stderr.write('\n');
                if (globals(this).json) printJson(e);
                else console.log(`${e.execId}: ${e.status} (${countsLine(e)})`);
                return outcomeCode(e);
              }
            }
            if (Date.now() > deadline) {
              if (tty) process.stderr.write('\n');
              throw new CliError(
                e
                  ? `timed out waiting for ${execId} (${countsLine(e)})`
                  : `timed out: no execution '${execId}' was projected`,
                EXIT.failed,
              );
            }
            await delay(250);
          }
        });
      }),
    );

  program
    .command('results')
    .description('one endpoint result (from the projection)')
    .command('show <result-id>')
    .description('a result with its full stdout/stderr (from the object store when it overflowed)')
    .option('--stdout', 'print only stdout, byte for byte')
    .option('--stderr', 'print only stderr, byte for byte')
    .option(...DB_OPTION)
    .action(
      action(async function (
        this: Command,
        resultId: string,
        f: { stdout?: boolean; stderr?: boolean; db?: string },
      ) {
        const r = await withReadModel(f.db, (rm) => rm.results.get(resultId));
        if (!r) throw new CliError(`no result '${resultId}' in the projection`, EXIT.notFound);
        if (f.stdout || f.stderr) {
          await writeOutput(this, f.stdout ? r.stdout : r.stderr);
          return;
        }
        if (globals(this).json) return printJson(r);
        console.log(
          `result ${r.resultId}: ${r.status}, exit ${r.exitCode ?? '-'}${r.reason ? ` (${r.reason})` : ''}`,
        );
        console.log(`  exec ${r.execId}  pc ${r.pcId}  job ${r.jobId} ${r.jobVersion}`);
        console.log(`  started ${r.startedAt ?? '-'}  finished ${r.finishedAt}  (${r.durationMs} ms)`);
        if (r.attempt > 1 || r.retryAt)
          console.log(`  attempt ${r.attempt}${r.retryAt ? `, retried from ${r.retryAt}` : ''}`);
        if (r.emitted) {
          const capped = r.emitted.capped ? ` (${r.emitted.capped} over the cap)` : '';
          console.log(`  emitted ${r.emitted.events}, invalid ${r.emitted.invalid}${capped}`);
        }
        for (const name of ['stdout', 'stderr'] as const) {
          const out = r[name];
          const where = out.object ? ` from ${out.object.bucket}/${out.object.name}` : '';
          console.log(
            `--- ${name} (${formatBytes(out.bytes)}${where}${out.dropped ? `, ${out.dropped} bytes dropped` : ''})`,
          );
          await writeOutput(this, out);
        }
      }),
    );
}

async function write(chunk: Uint8Array): Promise<void> {
  if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
}

/** Writes one output stream to stdout: inline, or streamed from the object store. */
async function writeOutput(cmd: Command, out: OutputStream): Promise<void> {
  const inline = inlineOutputBytes(out);
  if (inline) return write(inline);
  const pointer = out.object;
  if (!pointer) return;
  await withNats(cmd, async (nc) => {
    const store = await new Objm(nc).open(pointer.bucket);
    const obj = await store.get(pointer.name);
    if (!obj) {
      throw new CliError(
        `output object ${pointer.bucket}/${pointer.name} is gone (expired or deleted)`,
        EXIT.notFound,
      );
    }
    const reader = obj.data.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await write(value);
    }
    const err = await obj.error;
    if (err)
      throw new CliError(`reading ${pointer.bucket}/${pointer.name}: ${err.message}`, EXIT.failed, {
        cause: err,
      });
  });
}
