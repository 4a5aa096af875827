// SQL of an endpoint's inventory: the latest snapshot of each source (the agent's built-in one,
// each inventory job's), and the change history between consecutive snapshots of one source,
// as dotted fields added, removed or changed. Snapshots of different sources are never compared
// (two jobs report different facts).
import type { Db } from './db.js';
import { canonicalJson } from './values.js';

export type InventorySnapshot = {
  id: string;
  at: string;
  source: string;
  jobId: string | null;
  data: Record<string, unknown>;
};

export type InventoryChange =
  | { field: string; change: 'added'; to: unknown }
  | { field: string; change: 'removed'; from: unknown }
  | { field: string; change: 'changed'; from: unknown; to: unknown };

export type InventoryHistoryEntry = {
  id: string;
  at: string;
  source: string;
  jobId: string | null;
  /** True for the first snapshot of its source: nothing to compare with. */
  initial: boolean;
  changes: InventoryChange[];
};

export type InventoryFilter = { jobId?: string; limit?: number };

export type InventoryQueries = {
  latest(pcId: string, f?: InventoryFilter): InventorySnapshot[];
  /** Newest `limit` (default 20) snapshots per source, oldest first, each with its changes. */
  history(pcId: string, f?: InventoryFilter): InventoryHistoryEntry[];
};

type Row = { id: string; at: string; source: string; job_id: string | null; data: string };

const toSnapshot = (r: Row): InventorySnapshot => ({
  id: r.id,
  at: r.at,
  source: r.source,
  jobId: r.job_id,
  data: JSON.parse(r.data) as Record<string, unknown>,
});

export function inventoryQueries(db: Db): InventoryQueries {
  // The newest `@n` snapshots of each source (builtin, or one job) of a pc.
  const newest = db.prepare(`
    SELECT id, at, source, job_id, data FROM (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY source, job_id ORDER BY at DESC, id DESC) AS nth
      FROM inventory WHERE pc_id = @pc AND (@job IS NULL OR job_id = @job)
    ) WHERE nth <= @n
    ORDER BY source, job_id, at, id`);
  const rows = (pc: string, f: InventoryFilter, n: number) =>
    newest.all({ pc, job: f.jobId ?? null, n }) as Row[];

  return {
    latest(pc, f = {}) {
      return rows(pc, f, 1).map(toSnapshot);
    },
    history(pc, f = {}) {
      const limit = f.limit ?? 20;
      // One more than asked per source: the baseline the oldest shown snapshot is compared with.
      const all = rows(pc, f, limit + 1).map(toSnapshot);
      const out: InventoryHistoryEntry[] = [];
      for (const [i, snap] of all.entries()) {
        const prev = all[i - 1];
        const sameSource = prev !== undefined && prev.source === snap.source && prev.jobId === snap.jobId;
        const countInSource = all.filter((s) => s.source === snap.source && s.jobId === snap.jobId).length;
        // The baseline row itself is not shown when the source has more than `limit` snapshots.
        if (!sameSource && countInSource > limit) continue;
        out.push({
          id: snap.id,
          at: snap.at,
          source: snap.source,
          jobId: snap.jobId,
          initial: !sameSource,
          changes: sameSource ? diffInventory(prev.data, snap.data) : [],
        });
      }
      return out.sort((a, b) => (a.at === b.at ? a.id.localeCompare(b.id) : a.at.localeCompare(b.at)));
    },
  };
}

/** Leaf values by dotted path; nested objects are walked, arrays and empty objects are leaves. */
export function flattenInventory(
  data: Record<string, unknown>,
  prefix = '',
  out = new Map<string, unknown>(),
) {
  for (const [k, v] of Object.entries(data)) {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0)
      flattenInventory(v as Record<string, unknown>, path, out);
    else out.set(path, v);
  }
  return out;
}

/** Fields added, removed and changed from `before` to `after`, by dotted path, sorted by path. */
export function diffInventory(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): InventoryChange[] {
  const a = flattenInventory(before);
  const b = flattenInventory(after);
  const changes: InventoryChange[] = [];
  for (const [field, from] of a) {
    if (!b.has(field)) changes.push({ field, change: 'removed', from });
    else if (canonicalJson(from) !== canonicalJson(b.get(field)))
      changes.push({ field, change: 'changed', from, to: b.get(field) });
  }
  for (const [field, to] of b) if (!a.has(field)) changes.push({ field, change: 'added', to });
  return changes.sort((x, y) => (x.field < y.field ? -1 : x.field > y.field ? 1 : 0));
}
