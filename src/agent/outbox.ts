// The result outbox: a result is written here (with its spill files) when its run ends, and
// removed only after JetStream acknowledged it. Entries are retried with capped backoff forever
// while the failure is transient (broker down, timeout); an entry that keeps failing for another
// reason is moved to quarantine/ and reported, so one bad result cannot block the rest.
//
// The agent owns its folder: the entries found at start and those added since are kept in memory
// (in the order they were added), so a flush reads nothing back from disk. Each entry keeps the
// result's JSON text as it was encoded once, which is both what the file holds and what is
// published.
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileDurable } from './durable-file.js';

/** An entry's file, `<result-id>.json`. */
const OutboxFile = z.object({
  /** The ExecResult JSON as it will be published. */
  result: z.record(z.string(), z.unknown()),
  resultId: z.string(),
  /** Spill files (inside the outbox folder) to upload before publishing, by object name. */
  uploads: z.array(z.object({ name: z.string(), file: z.string() })).default([]),
  /**
   * Messages the run emitted (timeline events, an inventory snapshot), published before the
   * result, each with `Nats-Msg-Id` = `msgId`; `data` is the JSON text.
   */
  messages: z.array(z.object({ subject: z.string(), msgId: z.string(), data: z.string() })).default([]),
  attempts: z.int().default(0),
  lastError: z.string().optional(),
});

/** A pending entry: its file's fields, with the result as the JSON text that is published. */
export type OutboxEntry = Omit<z.infer<typeof OutboxFile>, 'result'> & {
  /** The ExecResult's JSON text, as encoded (and validated) once by the writer. */
  result: string;
  /** The result's request id (its subject). */
  requestId: string;
};

/** The entry's file: its fields, with the result's text embedded as it is (not encoded again). */
function fileText(entry: OutboxEntry): string {
  const { result, requestId: _inResult, ...rest } = entry;
  return `${JSON.stringify(rest).slice(0, -1)},"result":${result}}`;
}

export type OutboxDeps = {
  /** Uploads spills and publishes the result; resolves after the PubAck. */
  deliver: (entry: OutboxEntry) => Promise<void>;
  /** True for failures worth retrying forever (connection, timeout). */
  isTransient: (err: unknown) => boolean;
  /** Called once when an entry is quarantined. */
  onQuarantine: (entry: OutboxEntry, err: unknown) => Promise<void> | void;
};

/** Non-transient failures tolerated before an entry is quarantined. */
export const MAX_PERMANENT_FAILURES = 10;
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

export class Outbox {
  readonly quarantineDir: string;
  #backoffMs = MIN_BACKOFF_MS;
  /** Every entry on disk, by result id, in the order they were added. */
  readonly #pending = new Map<string, OutboxEntry>();

  constructor(readonly dir: string) {
    this.quarantineDir = join(dir, 'quarantine');
  }

  /**
   * Creates the folders and reads the entries left by an earlier run. An unreadable entry is moved
   * to quarantine (kept for a person) and returned with the reason, for the caller to report.
   */
  async init(): Promise<{ file: string; reason: string }[]> {
    await mkdir(this.quarantineDir, { recursive: true });
    const quarantined: { file: string; reason: string }[] = [];
    for (const f of (await readdir(this.dir)).sort()) {
      if (!f.endsWith('.json')) continue;
      try {
        const { result, ...rest } = OutboxFile.parse(JSON.parse(await readFile(join(this.dir, f), 'utf8')));
        const requestId = result['requestId'];
        if (typeof requestId !== 'string') throw new Error('result.requestId: expected a string');
        this.#pending.set(rest.resultId, { ...rest, requestId, result: JSON.stringify(result) });
      } catch (err) {
        await rename(join(this.dir, f), join(this.quarantineDir, f));
        quarantined.push({ file: join(this.quarantineDir, f), reason: (err as Error).message });
      }
    }
    return quarantined;
  }

  #path(resultId: string): string {
    return join(this.dir, `${resultId}.json`);
  }

  /** A folder for the spill files of a result, inside the outbox (same filesystem: rename works). */
  spillPath(resultId: string, stream: 'stdout' | 'stderr'): string {
    return join(this.dir, `${resultId}.${stream}`);
  }

  async add(entry: OutboxEntry): Promise<void> {
    await writeFileDurable(this.#path(entry.resultId), fileText(entry));
    this.#pending.set(entry.resultId, entry);
  }

  /** The pending entry of a result, or null (delivered, never written, or unreadable). */
  get(resultId: string): OutboxEntry | null {
    return this.#pending.get(resultId) ?? null;
  }

  /** The pending entries, oldest first. */
  pending(): OutboxEntry[] {
    return [...this.#pending.values()];
  }

  async #remove(entry: OutboxEntry): Promise<void> {
    for (const u of entry.uploads) await rm(u.file, { force: true });
    await rm(this.#path(entry.resultId), { force: true });
    this.#pending.delete(entry.resultId);
  }

  /**
   * Delivers every pending entry once, in order. Returns the delay before the next attempt
   * (0 when the outbox is empty): grows while deliveries fail, resets after a success; and the
   * transient error that stopped this round, if one did.
   */
  async flushOnce(
    deps: OutboxDeps,
  ): Promise<{ delivered: number; remaining: number; retryInMs: number; transientError?: unknown }> {
    let delivered = 0;
    let remaining = 0;
    for (const entry of this.pending()) {
      try {
        await deps.deliver(entry);
        await this.#remove(entry);
        delivered++;
        this.#backoffMs = MIN_BACKOFF_MS;
      } catch (err) {
        remaining++;
        if (deps.isTransient(err)) {
          // The broker is unreachable: every other entry would fail the same way.
          this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
          return { delivered, remaining, retryInMs: this.#backoffMs, transientError: err };
        }
        const next = { ...entry, attempts: entry.attempts + 1, lastError: (err as Error).message };
        if (next.attempts >= MAX_PERMANENT_FAILURES) {
          await writeFileDurable(join(this.quarantineDir, `${entry.resultId}.json`), fileText(next));
          for (const u of entry.uploads)
            await rename(
              u.file,
              join(this.quarantineDir, `${entry.resultId}.${u.name.split('/').pop()}`),
            ).catch(() => {});
          await rm(this.#path(entry.resultId), { force: true });
          this.#pending.delete(entry.resultId);
          await deps.onQuarantine(next, err);
          remaining--;
        } else {
          await this.add(next);
          this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
        }
      }
    }
    return { delivered, remaining, retryInMs: remaining > 0 ? this.#backoffMs : 0 };
  }
}
