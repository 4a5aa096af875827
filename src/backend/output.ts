// One byte range of an output stream: inline data sliced, or the stored object read up to the
// end of the range and then cancelled (the object store has no seek: the bytes before `offset`
// are read and dropped, so memory stays bounded by the range, time grows with the offset).
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import { inlineOutputBytes, type OutputStream } from '../wire/index.js';
import { HttpError } from './http.js';

export async function outputRange(nc: NatsConnection, out: OutputStream, offset: number, limit: number): Promise<Buffer> {
  const end = Math.min(out.bytes, offset + limit);
  if (offset >= end) return Buffer.alloc(0);
  const inline = inlineOutputBytes(out);
  if (inline) return Buffer.from(inline.subarray(offset, end));
  if (!out.object) return Buffer.alloc(0);
  const store = await new Objm(nc).open(out.object.bucket);
  const obj = await store.get(out.object.name);
  if (!obj) throw new HttpError(410, 'gone', `output object ${out.object.bucket}/${out.object.name} is missing (expired or deleted)`);
  // Cancelling the read early makes the object store's pump fail on its closed stream and reject
  // `obj.error`; that rejection is expected here and must not go unhandled.
  const failed = obj.error.then(
    (e) => e,
    (e: unknown) => e as Error,
  );
  const reader = obj.data.getReader();
  const parts: Buffer[] = [];
  let pos = 0;
  try {
    while (pos < end) {
      const { done, value } = await reader.read();
      if (done) break;
      const from = Math.max(0, offset - pos);
      const to = Math.min(value.length, end - pos);
      if (to > from) parts.push(Buffer.from(value.subarray(from, to)));
      pos += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  if (pos < end) {
    const err = await failed;
    throw new HttpError(502, 'output_unreadable', `output object ${out.object.name} ended at byte ${pos} of ${out.bytes}${err ? `: ${err.message}` : ''}`);
  }
  return Buffer.concat(parts);
} // prettier-ignore
