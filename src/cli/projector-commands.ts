// `baton projector`: the projection process (foreground, SIGTERM/SIGINT stop it gracefully), and
// `baton projector rebuild`: delete the database and replay every stream into a fresh one.
import type { Command } from 'commander';
import { pino } from 'pino';
import { connectNats } from '../shared/connect.js';
import {
  DbLockedError,
  PROJECTOR_DEFAULTS,
  Projector,
  rebuildProjection,
  type ProjectorLogger,
  type ProjectorOptions,
} from '../projector/index.js';
import { CliError, EXIT } from './exit-codes.js';
import { formatTable, printJson } from './output.js';
import { projectionDbPath } from './projection-db.js';
import { parseCount, parseDurationFlag } from './flags.js';
import { action, connection, globals, natsOptions } from './runtime.js';

type ProjectorFlags = {
  db?: string;
  instance: string;
  heartbeat: string;
  retentionDays: string;
  ackWait: string;
};

function logger(fields: Record<string, unknown>): ProjectorLogger {
  const p = pino({
    name: 'baton-projector',
    level: process.env['BATON_LOG_LEVEL'] ?? 'info',
    base: { pid: process.pid, ...fields },
  });
  return {
    debug: (o, m) => p.debug(o, m),
    info: (o, m) => p.info(o, m),
    warn: (o, m) => p.warn(o, m),
    error: (o, m) => p.error(o, m),
  };
}

function options(flags: ProjectorFlags): ProjectorOptions {
  const dbPath = projectionDbPath(flags.db);
  return {
    dbPath,
    instance: flags.instance,
    heartbeatMs: parseDurationFlag('--heartbeat', flags.heartbeat),
    retentionDays: parseCount('--retention-days', flags.retentionDays),
    ackWaitMs: parseDurationFlag('--ack-wait', flags.ackWait),
    logger: logger({ instance: flags.instance, db: dbPath }),
  };
}

const lockedToConflict = (err: unknown): never => {
  if (err instanceof DbLockedError) throw new CliError(err.message, EXIT.conflict, { cause: err });
  throw err;
};

function common(cmd: Command): Command {
  return cmd
    .option('--db <path>', 'the SQLite file (default <data dir>/baton.db, see docs/cli.md)')
    .option(
      '--instance <name>',
      'names the durable consumers (projector-<name>-<stream>)',
      PROJECTOR_DEFAULTS.instance,
    );
}

export function registerProjectorCommands(program: Command): void {
  const projector = common(
    program
      .command('projector')
      .description('project the streams into the SQLite read model (foreground; SIGTERM stops it)'),
  )
    .option('--heartbeat <duration>', "the agents' heartbeat interval; offline after 3 missed", '15s')
    .option('--retention-days <n>', 'delete rows older than this', String(PROJECTOR_DEFAULTS.retentionDays))
    .option('--ack-wait <duration>', 'redelivery delay of unacked messages', '30s')
    .action(
      action(async function (this: Command, flags: ProjectorFlags) {
        const opts = options(flags);
        const nc = await connectNats({
          ...natsOptions(connection(this)),
          name: 'baton-projector',
          longRunning: true,
        });
        const p = new Projector(nc, opts);
        const stopped = new Promise<void>((done) => {
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
        });
        try {
          await p.start().catch(lockedToConflict);
          await stopped;
        } finally {
          await p.stop();
          await nc.drain().catch(() => nc.close());
        }
      }),
    );

  common(projector.command('rebuild'))
    .description('delete the database and replay every stream into a fresh one (stop the projector first)')
    .option('--timeout <duration>', 'give up when the replay takes longer', '10m')
    .action(
      action(async function (this: Command, flags: { db?: string; instance: string; timeout: string }) {
        const dbPath = projectionDbPath(flags.db);
        const timeoutMs = parseDurationFlag('--timeout', flags.timeout);
        const nc = await connectNats({ ...natsOptions(connection(this)), name: 'baton-projector-rebuild' });
        try {
          const report = await rebuildProjection(nc, { dbPath, instance: flags.instance, timeoutMs }).catch(
            lockedToConflict,
          );
          if (globals(this).json) return printJson({ db: dbPath, ...report });
          console.log(`rebuilt ${dbPath} in ${report.durationMs} ms`);
          console.log(
            formatTable(Object.entries(report.counts), [
              { header: 'TABLE', value: ([t]) => t },
              { header: 'ROWS', value: ([, n]) => n, align: 'right' },
            ]),
          );
        } finally {
          await nc.drain().catch(() => nc.close());
        }
      }),
    );
}
