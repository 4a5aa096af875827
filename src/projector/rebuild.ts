// Rebuild: delete the database and this instance's durable consumers, then replay every stream
// from its first message into a fresh file and stop once caught up. JetStream is the source of
// truth, so the result has the same rows as a projector that ran all along.
import { setTimeout as delay } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { DbLockedError, lockHolder } from './db-lock.js';
import { openReadOnlyDb } from './db.js';
import { resolveProjectorOptions, type ProjectorOptions } from './options.js';
import { Projector, deleteDurables, removeDbFiles } from './projector.js';
import { tableCounts } from './queries-tables.js';
import type { ProjectionTable } from './schema.js';

export type RebuildOptions = ProjectorOptions & {
  /** Give up when the replay has not caught up within this time. Default 10 min. */
  timeoutMs?: number;
};

export type RebuildReport = { counts: Record<ProjectionTable, number>; durationMs: number };

export class RebuildError extends Error {
  override name = 'RebuildError';
}

export async function rebuildProjection(nc: NatsConnection, opts: RebuildOptions): Promise<RebuildReport> {
  const o = resolveProjectorOptions(opts);
  const holder = lockHolder(o.dbPath);
  if (holder !== null) throw new DbLockedError(o.dbPath, holder);
  const started = Date.now();
  await deleteDurables(await jetstreamManager(nc), o.instance);
  removeDbFiles(o.dbPath);
  // No presence events: a rebuild reproduces the streams, it does not add to them.
  const projector = new Projector(nc, { ...opts, emitPresence: false });
  try {
    await projector.start();
    const deadline = started + (opts.timeoutMs ?? 600_000);
    while (!(await projector.caughtUp())) {
      if (Date.now() > deadline) {
        throw new RebuildError(`the replay did not catch up within ${opts.timeoutMs ?? 600_000} ms`);
      }
      await delay(50);
    }
    await projector.sweep();
  } finally {
    await projector.stop();
  }
  const db = openReadOnlyDb(o.dbPath);
  try {
    return { counts: tableCounts(db), durationMs: Date.now() - started };
  } finally {
    db.close();
  }
}
