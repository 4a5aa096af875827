// Schedules in KV: `schedules` (Schedule JSON plus a write stamp) and `schedules_yaml` (the
// operator's YAML byte for byte). Same ordering as the job catalog (job-store.ts): the JSON with
// compare-and-swap on the revision the writer read (the commit point, carrying the YAML's sha256),
// then the YAML; YAML whose hash does not match its record is treated as missing.
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { Kvm, type KV, type KvEntry, type KvWatchEntry } from '@nats-io/kv';
import { z } from 'zod';
import { Schedule } from '../wire/index.js';
import { BUCKETS } from './names.js';
import { ConflictError, NotFoundError, isRevisionMismatch } from './errors.js';
import { WriteStamp, matchingYaml, sha256Text, stampOf, type WriteMeta } from './job-store.js';

/** The value of a `schedules` key: the schedule with the stamp of the write that produced it. */
export const StoredSchedule = Schedule.extend({
  written: WriteStamp,
  /** sha256 of the YAML written with this revision (absent in older records). */
  yamlSha256: z.string().optional(),
});
export type StoredSchedule = z.infer<typeof StoredSchedule>;

export type ScheduleRecord = {
  id: string;
  schedule: Schedule;
  written: WriteStamp;
  /** KV revision of the `schedules` key, for compare-and-swap. */
  revision: number;
  /** When this revision was stored, RFC 3339. */
  storedAt: string;
  yaml: string | null;
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads a `schedules` entry; throws (zod) when the value is not a schedule. */
export function scheduleFromEntry(entry: KvEntry): Omit<ScheduleRecord, 'yaml'> & { yamlSha256?: string } {
  const { written, yamlSha256, ...schedule } = StoredSchedule.parse(JSON.parse(decoder.decode(entry.value)));
  return {
    ...(yamlSha256 === undefined ? {} : { yamlSha256 }),
    id: entry.key,
    schedule,
    written,
    revision: entry.revision,
    storedAt: entry.created.toISOString(),
  };
}

export class ScheduleStore {
  private constructor(
    readonly kv: KV,
    private readonly yaml: KV,
  ) {}

  static async open(nc: NatsConnection): Promise<ScheduleStore> {
    const kvm = new Kvm(nc);
    const [kv, yaml] = await Promise.all([kvm.open(BUCKETS.schedules), kvm.open(BUCKETS.schedulesYaml)]);
    return new ScheduleStore(kv, yaml);
  }

  async get(id: string): Promise<ScheduleRecord | null> {
    const entry = await this.kv.get(id);
    if (!entry || entry.operation !== 'PUT') return null;
    const yaml = await this.yaml.get(id);
    const { yamlSha256, ...record } = scheduleFromEntry(entry);
    return {
      ...record,
      yaml: matchingYaml(yaml?.operation === 'PUT' ? decoder.decode(yaml.value) : null, yamlSha256),
    };
  }

  async require(id: string): Promise<ScheduleRecord> {
    const s = await this.get(id);
    if (s) return s;
    const gone = await this.deleted(id);
    throw new NotFoundError(
      gone
        ? `schedule '${id}' was deleted (revision ${gone.revision}, ${gone.deletedAt})`
        : `no schedule '${id}'`,
    );
  }

  async deleted(id: string): Promise<{ id: string; revision: number; deletedAt: string } | null> {
    const entry = await this.kv.get(id);
    if (!entry || entry.operation === 'PUT') return null;
    return { id, revision: entry.revision, deletedAt: entry.created.toISOString() };
  }

  /** Every live schedule, sorted by id. */
  async list(): Promise<ScheduleRecord[]> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    const out: ScheduleRecord[] = [];
    for (const k of keys.sort()) {
      const s = await this.get(k);
      if (s) out.push(s);
    }
    return out;
  }

  /** Every current value, then every change (deletes included), until the iterator is stopped. */
  watch(): Promise<QueuedIterator<KvWatchEntry>> {
    return this.kv.watch();
  }

  /**
   * Writes a schedule with compare-and-swap (`expectedRevision` null to create, or the tombstone
   * revision to recreate). Returns the new revision; ConflictError when someone wrote in between.
   */
  async put(
    schedule: Schedule,
    yaml: string,
    expectedRevision: number | null,
    meta: WriteMeta,
  ): Promise<number> {
    const value: StoredSchedule = { ...schedule, written: stampOf(meta), yamlSha256: sha256Text(yaml) };
    const data = encoder.encode(JSON.stringify(value));
    try {
      const revision =
        expectedRevision === null
          ? await this.kv.create(schedule.id, data)
          : await this.kv.update(schedule.id, data, expectedRevision);
      await this.yaml.put(schedule.id, encoder.encode(yaml));
      return revision;
    } catch (err) {
      if (!isRevisionMismatch(err)) throw err;
      const now = await this.kv.get(schedule.id);
      let by = now ? ' (deleted)' : '';
      if (now?.operation === 'PUT') {
        const w = scheduleFromEntry(now).written;
        by = ` by ${w.actor.name} via ${w.via} at ${w.at}`;
      }
      throw new ConflictError(
        `schedule '${schedule.id}' changed since revision ${expectedRevision ?? 'none'}: it is now at revision ${now?.revision ?? '?'}${by}; re-read it and try again`,
        { cause: err },
      );
    }
  }

  /** Deletes the schedule (KV history keeps it). Returns the tombstone revision. */
  async remove(id: string, expectedRevision: number): Promise<number> {
    let revision: number;
    try {
      revision = await this.kv
        .delete(id, { previousSeq: expectedRevision })
        .then(async () => (await this.kv.get(id))?.revision ?? expectedRevision + 1);
    } catch (err) {
      if (!isRevisionMismatch(err)) throw err;
      throw new ConflictError(
        `schedule '${id}' changed since revision ${expectedRevision}; re-read it and try again`,
        {
          cause: err,
        },
      );
    }
    await this.yaml.delete(id);
    return revision;
  }
}
