// The result outbox: a result is written here (with its spill files) when its run ends, and
// removed only after JetStream acknowledged it. Entries are retried with capped backoff forever
// while the failure is transient (broker down, timeout); an entry that keeps failing for another
// reason is moved to quarantine/ and reported, so one bad result cannot block the rest.
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileDurable } from './durable-file.js';

export const OutboxEntry = z.object({
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
export type OutboxEntry = z.infer<typeof OutboxEntry>;

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

  constructor(readonly dir: string) {
    this.quarantineDir = join(dir, 'quarantine');
  }

  async init(): Promise<void> {
    await mkdir(this.quarantineDir, { recursive: true });
  }

  #path(resultId: string): string {
    return join(this.dir, `${resultId}.json`);
  }

  /** A folder for the spill files of a result, inside the outbox (same filesystem: rename works). */
  spillPath(resultId: string, stream: 'stdout' | 'stderr'): string {
    return join(this.dir, `${resultId}.${stream}`);
  }

  async add(entry: OutboxEntry): Promise<void> {
    await writeFileDurable(this.#path(entry.resultId), JSON.stringify(entry));
  }

  async has(resultId: string): Promise<boolean> {
    return (await this.get(resultId)) !== null;
  }

  /** The pending entry of a result, or null (delivered, never written, or unreadable). */
  async get(resultId: string): Promise<OutboxEntry | null> {
    try {
      return OutboxEntry.parse(JSON.parse(await readFile(this.#path(resultId), 'utf8')));
    } catch {
      return null;
    }
  }

  async pending(): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    for (const f of (await readdir(this.dir)).sort()) {
      if (!f.endsWith('.json')) continue;
      try {
        out.push(OutboxEntry.parse(JSON.parse(await readFile(join(this.dir, f), 'utf8'))));
      } catch {
        await rename(join(this.dir, f), join(this.quarantineDir, f)); // unreadable: keep for a person
      }
    }
    return out;
  }

  async #remove(entry: OutboxEntry): Promise<void> {
    for (const u of entry.uploads) await rm(u.file, { force: true });
    await rm(this.#path(entry.resultId), { force: true });
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
    for (const entry of await this.pending()) {
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
          await writeFileDurable(join(this.quarantineDir, `${entry.resultId}.json`), JSON.stringify(next));
          for (const u of entry.uploads)
            await rename(
              u.file,
              join(this.quarantineDir, `${entry.resultId}.${u.name.split('/').pop()}`),
            ).catch(() => {});
          await rm(this.#path(entry.resultId), { force: true });
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
