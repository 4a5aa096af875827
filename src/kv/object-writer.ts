// Writes one object into a JetStream object store using only publishes: chunks on
// `$O.<store>.C.<nuid>`, then the meta entry (with rollup) on `$O.<store>.M.<base64url(name)>`, in
// the object store's own format, so @nats-io/obj readers read it like any other object.
//
// Why not ObjectStore.put(): put() first reads the existing entry (a stream message get on the
// whole store) and may purge old chunks. An agent must be able to write its result output without
// the right to read, or purge, every other pc's output (docs/security.md), so it writes with this.
// The cost: a second write of the same name leaves the first write's chunks behind until the
// store's max_age removes them (the agent writes a name again only when a delivery is retried).
import { createHash } from 'node:crypto';
import { headers, nuid } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';

/** The object store's default chunk size. */
const CHUNK_BYTES = 128 * 1024;

const metaSubject = (store: string, name: string) =>
  `$O.${store}.M.${Buffer.from(name, 'utf8').toString('base64url')}${'='.repeat((3 - (Buffer.byteLength(name) % 3)) % 3)}`;

export type WrittenObject = { name: string; size: number; chunks: number; sha256: string };

/**
 * Streams `data` into `store` under `name`, chunk by chunk (memory stays at one chunk), each chunk
 * acknowledged by JetStream before the next, and the meta entry last: a reader never sees an
 * entry whose chunks are not stored yet.
 */
export async function writeObject(
  js: JetStreamClient,
  store: string,
  name: string,
  data: AsyncIterable<Uint8Array>,
  opts: { timeoutMs?: number } = {},
): Promise<WrittenObject> {
  const id = nuid.next();
  const chunkSubject = `$O.${store}.C.${id}`;
  const sha = createHash('sha256');
  let size = 0;
  let chunks = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (buf: Buffer) => {
    sha.update(buf);
    size += buf.length;
    chunks++;
    await js.publish(chunkSubject, buf, { timeout: opts.timeoutMs ?? 10_000 });
  };
  for await (const part of data) {
    pending.push(Buffer.from(part));
    pendingBytes += part.length;
    while (pendingBytes >= CHUNK_BYTES) {
      const all = Buffer.concat(pending);
      await flush(all.subarray(0, CHUNK_BYTES));
      pending = [all.subarray(CHUNK_BYTES)];
      pendingBytes = all.length - CHUNK_BYTES;
    }
  }
  if (pendingBytes > 0) await flush(Buffer.concat(pending));
  const digest = sha.digest();
  const meta = {
    name,
    description: '',
    options: { max_chunk_size: CHUNK_BYTES },
    bucket: store,
    nuid: id,
    size,
    chunks,
    mtime: new Date().toISOString(),
    digest: `SHA-256=${digest.toString('base64url')}=`,
    deleted: false,
  };
  const h = headers();
  h.set('Nats-Rollup', 'sub');
  await js.publish(metaSubject(store, name), JSON.stringify(meta), {
    headers: h,
    timeout: opts.timeoutMs ?? 10_000,
  });
  return { name, size, chunks, sha256: digest.toString('hex') };
}
