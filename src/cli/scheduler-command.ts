// `baton scheduler`: the long-running scheduler process. Several may run against one NATS:
// they need no leader (docs/schedules.md). SIGINT/SIGTERM stop it gracefully.
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { pino } from 'pino';
import { connectNats } from '../shared/connect.js';
import { Scheduler } from '../scheduler/index.js';
import { action, connection, natsOptions } from './runtime.js';

export function registerSchedulerCommand(program: Command): void {
  program
    .command('scheduler')
    .description('run the scheduler (foreground; replicas need no leader; SIGTERM stops it)')
    .option('--name <name>', 'this replica in receipts and logs', `scheduler@${hostname()}`)
    .action(
      action(async function (this: Command, flags: { name: string }) {
        const logger = pino({ name: 'baton-scheduler', level: process.env['BATON_LOG_LEVEL'] ?? 'info' });
        const conn = connection(this);
        const nc = await connectNats({
          ...natsOptions(conn),
          name: `baton-${flags.name}`,
          longRunning: true,
        });
        const scheduler = new Scheduler({ nc, logger, name: flags.name });
        await scheduler.start();
        await new Promise<void>((done) => {
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
        });
        await scheduler.stop();
        await nc.drain().catch((err: unknown) => logger.error({ err }, 'drain failed'));
      }),
    );
}
