// The `scheduler_state` bucket: what every scheduler replica shares so that none needs a leader.
//
// - `fires.<scheduleId>`: the latest fire time handled (fired or recorded as skipped) by any
//   replica. Written after each fire, only ever moved forward (compare-and-swap, retried), so a
//   replica that starts after downtime knows where catch-up begins.
// - `freeze`: the fleet-wide freeze of scheduled fires (reason, optional end, who set it).
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import { z } from 'zod';
import { Timestamp } from '../wire/index.js';
import { BUCKETS } from './names.js';
import { ConflictError, isRevisionMismatch } from './errors.js';

/** The fleet-wide freeze: scheduled fires before `until` (or until cleared) are skipped. */
export const FreezeState = z.object({
  reason: z.string().min(1),
  /** End of the freeze; null: until `baton freeze clear`. */
  until: Timestamp.nullable(),
  setAt: Timestamp,
  setBy: z.string(),
});
export type FreezeState = z.infer<typeof FreezeState>;

const FireMark = z.object({ lastFireAt: Timestamp });

export const FREEZE_KEY = 'freeze';
export const fireKey = (scheduleId: string): string => `fires.${scheduleId}`;

/** True when a fire at `at` falls inside the freeze. */
export function isFrozen(freeze: FreezeState | null, at: Date): boolean {
  return freeze !== null && (freeze.until === null || at.getTime() < Date.parse(freeze.until));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The time of a stored mark, or null when the value is not one. */
function readableMark(value: Uint8Array): number | null {
  try {
    return Date.parse(FireMark.parse(JSON.parse(decoder.decode(value))).lastFireAt);
  } catch {
    return null;
  }
}

const CAS_ATTEMPTS = 8;

export class SchedulerState {
  private constructor(readonly kv: KV) {}

  static async open(nc: NatsConnection): Promise<SchedulerState> {
    return new SchedulerState(await new Kvm(nc).open(BUCKETS.schedulerState));
  }

  /** The latest handled fire of a schedule, null when none was recorded. */
  async lastFire(scheduleId: string): Promise<Date | null> {
    const e = await this.kv.get(fireKey(scheduleId));
    if (!e || e.operation !== 'PUT') return null;
    return new Date(FireMark.parse(JSON.parse(decoder.decode(e.value))).lastFireAt);
  }

  /** Moves the schedule's mark forward to `at` (never back); concurrent replicas retry on CAS. */
  async recordFire(scheduleId: string, at: Date): Promise<void> {
    const key = fireKey(scheduleId);
    const data = encoder.encode(JSON.stringify({ lastFireAt: at.toISOString() }));
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const e = await this.kv.get(key);
      // An unreadable mark is overwritten (compare-and-swap on its revision), never a dead end.
      const current = e?.operation === 'PUT' ? readableMark(e.value) : null;
      if (current !== null && current >= at.getTime()) return;
      try {
        if (e) await this.kv.update(key, data, e.revision);
        else await this.kv.create(key, data);
        return;
      } catch (err) {
        if (!isRevisionMismatch(err)) throw err;
      }
    }
    throw new ConflictError(
      `could not record the fire of schedule '${scheduleId}' at ${at.toISOString()}: ${CAS_ATTEMPTS} concurrent writes won`,
    );
  }

  /** Forgets a deleted schedule's mark. */
  async forget(scheduleId: string): Promise<void> {
    await this.kv.delete(fireKey(scheduleId));
  }

  async freeze(): Promise<{ state: FreezeState | null; revision: number | null }> {
    const e = await this.kv.get(FREEZE_KEY);
    if (!e || e.operation !== 'PUT') return { state: null, revision: e?.revision ?? null };
    return { state: FreezeState.parse(JSON.parse(decoder.decode(e.value))), revision: e.revision };
  }

  /** Sets (or replaces) the freeze, conditional on the revision read. Returns [before, after]. */
  async setFreeze(state: FreezeState, expectedRevision: number | null): Promise<[number | null, number]> {
    const data = encoder.encode(JSON.stringify(FreezeState.parse(state)));
    try {
      const after =
        expectedRevision === null
          ? await this.kv.create(FREEZE_KEY, data)
          : await this.kv.update(FREEZE_KEY, data, expectedRevision);
      return [expectedRevision, after];
    } catch (err) {
      if (!isRevisionMismatch(err)) throw err;
      throw new ConflictError('the freeze changed concurrently; check `baton freeze status` and try again', {
        cause: err,
      });
    }
  }

  /** Clears the freeze, conditional on the revision read. Returns the tombstone revision. */
  async clearFreeze(expectedRevision: number): Promise<number> {
    try {
      await this.kv.delete(FREEZE_KEY, { previousSeq: expectedRevision });
    } catch (err) {
      if (!isRevisionMismatch(err)) throw err;
      throw new ConflictError('the freeze changed concurrently; check `baton freeze status` and try again', {
        cause: err,
      });
    }
    return (await this.kv.get(FREEZE_KEY))?.revision ?? expectedRevision + 1;
  }

  /** The freeze key's current value, then every change. */
  watchFreeze(): Promise<QueuedIterator<KvWatchEntry>> {
    return this.kv.watch({ key: FREEZE_KEY });
  }

  /** Decodes a freeze watch entry: the state, or null for a delete/purge. */
  static freezeOf(entry: KvWatchEntry): FreezeState | null {
    return entry.operation === 'PUT' ? FreezeState.parse(JSON.parse(decoder.decode(entry.value))) : null;
  }
}
