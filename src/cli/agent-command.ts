// `baton agent`: runs the endpoint agent in the foreground until SIGINT/SIGTERM.
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { Agent } from '../agent/index.js';
import { PcId } from '../wire/index.js';
import { processLogger } from '../shared/process-logger.js';
import { CliError, EXIT } from './exit-codes.js';
import { action, connection } from './runtime.js';

/** The host name as a pc id: lower-cased, anything outside [A-Za-z0-9_-] replaced by '-'. */
export function defaultPcId(name = hostname()): string {
  const id =
    name
      .split('.')[0]!
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '') || 'pc';
  return id.slice(0, 128);
}

/** `--stop-grace`: whole seconds, 0 (kill at once) allowed. */
function stopGraceSeconds(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new CliError(`--stop-grace: '${raw}' is not a whole number of seconds (0 or more)`, EXIT.usage);
  return n;
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('run the endpoint agent (foreground; SIGTERM stops it gracefully)')
    .option('--pc-id <id>', "this endpoint's id (default: the host name)")
    .option('--data-dir <dir>', 'journal, outbox and work folders (default .baton/agent-<pc-id>)')
    .option('--creds <file>', 'NATS credentials file')
    .option('--stop-grace <seconds>', 'time running scripts get to finish on stop', '30')
    .action(
      action(async function (
        this: Command,
        flags: { pcId?: string; dataDir?: string; creds?: string; stopGrace: string },
      ) {
        const pcId = flags.pcId ?? defaultPcId();
        if (!PcId.safeParse(pcId).success) {
          throw new CliError(
            `--pc-id: '${pcId}' is not a valid pc id (letters, digits, '_' and '-', max 128)`,
            EXIT.usage,
          );
        }
        const conn = connection(this);
        const agent = new Agent({
          pcId,
          servers: conn.natsUrl,
          dataDir: resolve(flags.dataDir ?? join('.baton', `agent-${pcId}`)),
          ...(flags.creds ? { credsFile: flags.creds } : {}),
          logger: processLogger('baton-agent', { pcId }),
          stopGraceMs: stopGraceSeconds(flags.stopGrace) * 1000,
        });
        await agent.start();
        await new Promise<void>((done) => {
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
        });
        await agent.stop();
      }),
    );
}
