// SQL of `projection_errors` (a message that could not be projected: recorded, then acked) and
// of `projector_meta`.
import type { Db } from './db.js';

/** Bytes of a bad payload kept in the error row. */
export const RAW_EXCERPT_BYTES = 512;

export type ProjectionErrorRow = {
  stream: string;
  seq: number;
  subject: string;
  at: string;
  error: string;
  raw: Uint8Array;
};

export type ErrorWriter = {
  record(e: ProjectionErrorRow): void;
  setMeta(key: string, value: string): void;
};

export function errorWriter(db: Db): ErrorWriter {
  const insert = db.prepare(`
    INSERT INTO projection_errors (stream, seq, subject, at, error, raw) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (stream, seq) DO NOTHING`);
  const meta = db.prepare(`
    INSERT INTO projector_meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  return {
    record(e) {
      const excerpt = Buffer.from(e.raw.subarray(0, RAW_EXCERPT_BYTES)).toString('utf8');
      insert.run(e.stream, e.seq, e.subject, e.at, e.error.slice(0, 2000), excerpt);
    },
    setMeta(key, value) {
      meta.run(key, value);
    },
  };
}
