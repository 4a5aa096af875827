import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { readAudit } from '../kv/index.js';
import type { AuditEvent } from '../wire/index.js';
import { formatTable, printJson } from './output.js';
import { projectionDbPath, withReadModel } from './projection-db.js';
import { action, globals, withNats } from './runtime.js';
import { parseCount } from './flags.js';

type AuditFlags = { action?: string; target?: string; limit: string; db?: string; stream?: boolean };

/**
 * Receipts from the projection when a database exists (fast, indexed), else straight from the
 * AUDIT stream (works with no projector running; `--stream` forces it).
 */
async function receipts(cmd: Command, flags: AuditFlags, limit: number): Promise<AuditEvent[]> {
  const q = { action: flags.action, target: flags.target, limit };
  if (!flags.stream && existsSync(projectionDbPath(flags.db))) {
    return withReadModel(flags.db, (rm) => rm.audit.list(q));
  }
  const { events, invalid } = await withNats(cmd, (nc) => readAudit(nc, q));
  if (invalid > 0) process.stderr.write(`baton: ${invalid} malformed receipts skipped\n`);
  return events;
}

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('receipts of every change: who changed what, when, at which revision')
    .option('--action <pattern>', "'job.create', 'job.*' or 'job'")
    .option('--target <id>', 'only receipts about this object')
    .option('--limit <n>', 'the newest n receipts', '50')
    .option('--db <path>', 'read this projection database (default <data dir>/baton.db when it exists)')
    .option('--stream', 'read the AUDIT stream even when a projection database exists')
    .action(
      action(async function (this: Command, flags: AuditFlags) {
        const events = await receipts(this, flags, parseCount('--limit', flags.limit));
        if (globals(this).json) return printJson(events);
        console.log(
          formatTable(events, [
            { header: 'AT', value: (e) => e.at },
            { header: 'ACTOR', value: (e) => `${e.actor.name} (${e.source.via})` },
            { header: 'ACTION', value: (e) => e.action },
            { header: 'TARGET', value: (e) => `${e.target.kind}/${e.target.id}` },
            { header: 'REV', value: (e) => `${e.revisionBefore ?? '-'} -> ${e.revisionAfter ?? '-'}` },
            { header: 'SUMMARY', value: (e) => e.summary },
          ]),
        );
      }),
    );
}
