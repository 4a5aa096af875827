// `baton inventory <pc> [--history]`: an endpoint's latest inventory snapshot of each source (the
// agent's built-in one, each inventory job's) and what changed between snapshots, from the
// projection (read-only SQLite; see docs/cli.md).
import type { Command } from 'commander';
import { flattenInventory, type InventoryChange, type InventoryHistoryEntry } from '../projector/index.js';
import { CliError, EXIT } from './exit-codes.js';
import { formatTable, printJson } from './output.js';
import { withReadModel } from './projection-db.js';
import { parseCount } from './flags.js';
import { action, globals } from './runtime.js';

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const sourceOf = (s: { source: string; jobId: string | null }) =>
  s.source === 'job' ? `job ${s.jobId ?? '?'}` : s.source;

export function registerInventoryCommand(program: Command): void {
  program
    .command('inventory <pc-id>')
    .description("an endpoint's latest inventory per source; --history: the changes between snapshots")
    .option('--history', 'fields added, removed and changed between consecutive snapshots of each source')
    .option('--job <id>', "only the snapshots of this job's inventory")
    .option('--limit <n>', 'with --history: the newest n snapshots per source', '20')
    .option('--db <path>', 'the projection database (default <data dir>/baton.db)')
    .action(
      action(async function (
        this: Command,
        pcId: string,
        f: { history?: boolean; job?: string; limit: string; db?: string },
      ) {
        const filter = { ...(f.job ? { jobId: f.job } : {}), limit: parseCount('--limit', f.limit) };
        const json = globals(this).json;
        if (f.history) {
          const history = await withReadModel(f.db, (rm) => rm.inventory.history(pcId, filter));
          if (history.length === 0)
            throw new CliError(`no inventory for '${pcId}' in the projection`, EXIT.notFound);
          if (json) return printJson(history);
          console.log(
            formatTable(history.flatMap(changeRows), [
              { header: 'AT', value: (r) => r.at },
              { header: 'SOURCE', value: (r) => r.source },
              { header: 'CHANGE', value: (r) => r.change },
              { header: 'FIELD', value: (r) => r.field },
              { header: 'FROM', value: (r) => r.from },
              { header: 'TO', value: (r) => r.to },
            ]),
          );
          return;
        }
        const latest = await withReadModel(f.db, (rm) => rm.inventory.latest(pcId, filter));
        if (latest.length === 0)
          throw new CliError(`no inventory for '${pcId}' in the projection`, EXIT.notFound);
        if (json) return printJson(latest);
        for (const [i, snap] of latest.entries()) {
          if (i > 0) console.log('');
          console.log(`${pcId}: ${sourceOf(snap)} at ${snap.at} (${snap.id})`);
          const fields = [...flattenInventory(snap.data)].map(([field, value]) => ({
            field,
            value: show(value),
          }));
          console.log(
            formatTable(fields, [
              { header: 'FIELD', value: (r) => r.field },
              { header: 'VALUE', value: (r) => r.value },
            ]),
          );
        }
      }),
    );
}

type ChangeRow = { at: string; source: string; change: string; field: string; from: string; to: string };

function changeRows(e: InventoryHistoryEntry): ChangeRow[] {
  const base = { at: e.at, source: sourceOf(e) };
  if (e.initial) return [{ ...base, change: 'first', field: '-', from: '-', to: '-' }];
  if (e.changes.length === 0) return [{ ...base, change: 'same', field: '-', from: '-', to: '-' }];
  return e.changes.map((c: InventoryChange) => ({
    ...base,
    change: c.change,
    field: c.field,
    from: c.change === 'added' ? '-' : show(c.from),
    to: c.change === 'removed' ? '-' : show(c.to),
  }));
}
