// The job catalog in KV: `jobs` (manifest JSON plus a write stamp), `jobs_yaml` (the operator's
// YAML byte for byte), `script_current` (version pin) and `script_status` (ACTIVE/REVOKED).
//
// Ordering: `jobs` is written first with compare-and-swap on the revision the writer read (the
// commit point; the record carries the sha256 of its YAML), then the YAML, then the pin. A writer
// that loses the race writes nothing. A crash between the commit and the YAML write leaves YAML
// whose hash does not match the record: readers then treat the YAML as missing (`yaml: null`), and
// the next apply or edit writes it again.
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AuditActor, AuditSource } from '../wire/index.js';
import { JobManifest } from '../wire/index.js';
import { BUCKETS } from './names.js';
import { ConflictError, NotFoundError, isRevisionMismatch } from './errors.js';

/** Who wrote a revision, through which door, when. `via: 'apply'` marks automation. */
export const WriteStamp = z.object({
  actor: z.object({ kind: z.enum(['user', 'scheduler', 'system', 'agent']), name: z.string() }),
  via: z.enum(['cli', 'api', 'apply', 'scheduler', 'system']),
  at: z.string(),
  file: z.string().optional(),
  gitCommit: z.string().optional(),
});
export type WriteStamp = z.infer<typeof WriteStamp>;

/** The value of a `jobs` key: the manifest with the stamp of the write that produced it. */
export const StoredJob = JobManifest.extend({
  written: WriteStamp,
  /** sha256 of the YAML written with this revision (absent in records written before it existed). */
  yamlSha256: z.string().optional(),
});
export type StoredJob = z.infer<typeof StoredJob>;

export type JobStatus = 'ACTIVE' | 'REVOKED';

export type JobRecord = {
  id: string;
  manifest: JobManifest;
  written: WriteStamp;
  /** KV revision of the `jobs` key: what writers pass back for compare-and-swap. */
  revision: number;
  /** When the revision was stored, RFC 3339. */
  storedAt: string;
  yaml: string | null;
  status: JobStatus;
  statusRevision: number | null;
  pinnedVersion: string | null;
};

/** A deleted job: its tombstone revision and time. */
export type DeletedJob = { id: string; revision: number; deletedAt: string };

export type WriteMeta = { actor: AuditActor; source: AuditSource; now?: Date };

const encoder = new TextEncoder();

/** sha256 (hex) of a text's UTF-8 bytes. */
export const sha256Text = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The stored YAML when it belongs to the record (its hash matches, or the record has none). */
export function matchingYaml(text: string | null, sha256: string | undefined): string | null {
  if (text === null || sha256 === undefined) return text;
  return sha256Text(text) === sha256 ? text : null;
}
const decoder = new TextDecoder();

export function stampOf(meta: WriteMeta): WriteStamp {
  return {
    actor: meta.actor,
    via: meta.source.via,
    at: (meta.now ?? new Date()).toISOString(),
    ...(meta.source.file === undefined ? {} : { file: meta.source.file }),
    ...(meta.source.gitCommit === undefined ? {} : { gitCommit: meta.source.gitCommit }),
  };
}

/** True when a person wrote this revision (CLI or API edit), as opposed to an `apply`. */
export const isHumanEdit = (s: WriteStamp): boolean => s.via === 'cli' || s.via === 'api';

export class JobStore {
  private constructor(
    private readonly jobs: KV,
    private readonly yaml: KV,
    private readonly pins: KV,
    private readonly statuses: KV,
  ) {}

  static async open(nc: NatsConnection): Promise<JobStore> {
    const kvm = new Kvm(nc);
    const [jobs, yaml, pins, statuses] = await Promise.all(
      [BUCKETS.jobs, BUCKETS.jobsYaml, BUCKETS.scriptCurrent, BUCKETS.scriptStatus].map((b) => kvm.open(b)),
    );
    return new JobStore(jobs!, yaml!, pins!, statuses!);
  }

  /** The live job, null when it never existed; a deleted job is reported by {@link deleted}. */
  async get(id: string): Promise<JobRecord | null> {
    const entry = await this.jobs.get(id);
    if (!entry || entry.operation !== 'PUT') return null;
    return this.#record(id, entry);
  }

  /** The job or a NotFoundError naming it. */
  async require(id: string): Promise<JobRecord> {
    const job = await this.get(id);
    if (job) return job;
    const gone = await this.deleted(id);
    throw new NotFoundError(
      gone ? `job '${id}' was deleted (revision ${gone.revision}, ${gone.deletedAt})` : `no job '${id}'`,
    );
  }

  /** The tombstone of a deleted job, null when the job is live or never existed. */
  async deleted(id: string): Promise<DeletedJob | null> {
    const entry = await this.jobs.get(id);
    if (!entry || entry.operation === 'PUT') return null;
    return { id, revision: entry.revision, deletedAt: entry.created.toISOString() };
  }

  async #record(id: string, entry: KvEntry): Promise<JobRecord> {
    const stored = StoredJob.parse(JSON.parse(decoder.decode(entry.value)));
    const { written, yamlSha256, ...manifest } = stored;
    const [yaml, pin, status] = await Promise.all([
      this.yaml.get(id),
      this.pins.get(id),
      this.statuses.get(id),
    ]);
    return {
      id,
      manifest,
      written,
      revision: entry.revision,
      storedAt: entry.created.toISOString(),
      // YAML of another revision (a crash between the two writes) is not this job's YAML.
      yaml: matchingYaml(yaml?.operation === 'PUT' ? decoder.decode(yaml.value) : null, yamlSha256),
      status: status?.operation === 'PUT' && status.string() === 'REVOKED' ? 'REVOKED' : 'ACTIVE',
      statusRevision: status?.revision ?? null,
      pinnedVersion: pin?.operation === 'PUT' ? pin.string() : null,
    };
  }

  /** Every live job, sorted by id. */
  async list(): Promise<JobRecord[]> {
    const keys: string[] = [];
    for await (const k of await this.jobs.keys()) keys.push(k);
    const out: JobRecord[] = [];
    for (const k of keys.sort()) {
      const job = await this.get(k);
      if (job) out.push(job);
    }
    return out;
  }

  /**
   * Writes a manifest with compare-and-swap: `expectedRevision` is the `jobs` revision the writer
   * based its change on, `null` to create (or to recreate over a tombstone, pass its revision).
   * Returns the new revision. Throws ConflictError when someone else wrote in between.
   * Revisions are sequences of the bucket's stream: increasing, but not by one per key.
   */
  async put(
    manifest: JobManifest,
    yaml: string,
    expectedRevision: number | null,
    meta: WriteMeta,
    opts: { activate?: boolean } = {},
  ): Promise<number> {
    const value: StoredJob = { ...manifest, written: stampOf(meta), yamlSha256: sha256Text(yaml) };
    let revision: number;
    try {
      const data = encoder.encode(JSON.stringify(value));
      revision =
        expectedRevision === null
          ? await this.jobs.create(manifest.id, data)
          : await this.jobs.update(manifest.id, data, expectedRevision);
    } catch (err) {
      if (!isRevisionMismatch(err)) throw err;
      const now = await this.jobs.get(manifest.id);
      throw new ConflictError(
        `job '${manifest.id}' changed since revision ${expectedRevision ?? 'none'}: it is now at revision ${now?.revision ?? '?'}` +
          (now?.operation === 'PUT' ? ` by ${this.#author(now)}` : now ? ' (deleted)' : '') +
          '; re-read it and try again',
        { cause: err },
      );
    }
    await this.yaml.put(manifest.id, encoder.encode(yaml));
    await this.pins.put(manifest.id, encoder.encode(manifest.version));
    // A (re)created job starts ACTIVE; an update leaves a revocation in place.
    if (opts.activate || expectedRevision === null || (await this.statuses.get(manifest.id)) === null) {
      await this.statuses.put(manifest.id, encoder.encode('ACTIVE'));
    }
    return revision;
  }

  #author(entry: KvEntry): string {
    try {
      const w = StoredJob.parse(JSON.parse(decoder.decode(entry.value))).written;
      return `${w.actor.name} via ${w.via} at ${w.at}`;
    } catch {
      return 'an unknown writer';
    }
  }

  /** Deletes the manifest (KV history keeps it), revokes the job and keeps its version pin. */
  async remove(id: string, expectedRevision: number): Promise<number> {
    await this.setStatus(id, 'REVOKED');
    try {
      await this.jobs.delete(id, { previousSeq: expectedRevision });
    } catch (err) {
      if (!isRevisionMismatch(err)) throw err;
      throw new ConflictError(
        `job '${id}' changed since revision ${expectedRevision}; re-read it and try again`,
        { cause: err },
      );
    }
    await this.yaml.delete(id);
    const tomb = await this.jobs.get(id);
    return tomb?.revision ?? expectedRevision + 1;
  }

  /** Sets ACTIVE/REVOKED; returns [revision before, revision after] of the `script_status` key. */
  async setStatus(id: string, status: JobStatus): Promise<[number | null, number]> {
    const before = await this.statuses.get(id);
    const data = encoder.encode(status);
    try {
      const after = before
        ? await this.statuses.update(id, data, before.revision)
        : await this.statuses.create(id, data);
      return [before?.revision ?? null, after];
    } catch (err) {
      if (!isRevisionMismatch(err)) throw err;
      throw new ConflictError(`the status of job '${id}' changed concurrently; try again`, { cause: err });
    }
  }
}

/** A job as lists show it (`baton jobs ls --json`, `GET /api/jobs`): one shape for both. */
export function jobSummary(j: JobRecord) {
  return {
    id: j.id,
    version: j.manifest.version,
    status: j.status,
    revision: j.revision,
    pinnedVersion: j.pinnedVersion,
    updatedAt: j.written.at,
    updatedBy: j.written.actor.name,
    via: j.written.via,
    description: j.manifest.description ?? null,
    tags: j.manifest.tags,
  };
}
