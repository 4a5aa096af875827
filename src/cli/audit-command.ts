import type { Command } from 'commander';
import { readAudit } from '../kv/index.js';
import { formatTable, printJson } from './output.js';
import { action, globals, withNats } from './runtime.js';

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('receipts of every change: who changed what, when, at which revision')
    .option('--action <pattern>', "'job.create', 'job.*' or 'job'")
    .option('--target <id>', 'only receipts about this object')
    .option('--limit <n>', 'the newest n receipts', '50')
    .action(
      action(async function (this: Command, flags: { action?: string; target?: string; limit: string }) {
        const limit = Number(flags.limit);
        const { events, invalid } = await withNats(this, (nc) =>
          readAudit(nc, {
            action: flags.action,
            target: flags.target,
            limit: Number.isInteger(limit) && limit > 0 ? limit : 50,
          }),
        );
        if (invalid > 0) process.stderr.write(`baton: ${invalid} malformed receipts skipped\n`);
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
