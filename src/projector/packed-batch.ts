// A batch of stream messages as the apply worker receives it: every payload copied into one
// buffer that is transferred (moved, not cloned) to the worker, plus small arrays of the rest.
// Posting 500 messages one by one, or cloning 500 payloads, cost more than the worker saved.
import type { ProjectedStream, RawMessage } from './projection.js';

export type PackedBatch = {
  stream: ProjectedStream;
  seqs: number[];
  subjects: string[];
  storedAtMs: number[];
  /** End offset of each payload in `bytes`; payload i is `bytes[ends[i-1] ?? 0, ends[i])`. */
  ends: number[];
  bytes: ArrayBuffer;
};

/** Packs a batch of messages of one stream (not empty). */
export function packBatch(batch: readonly RawMessage[]): PackedBatch {
  const stream = batch[0]!.stream;
  let size = 0;
  for (const m of batch) {
    if (m.stream !== stream) throw new Error(`a batch mixes streams '${stream}' and '${m.stream}'`);
    size += m.data.byteLength;
  }
  const bytes = new Uint8Array(size);
  const packed: PackedBatch = {
    stream,
    seqs: [],
    subjects: [],
    storedAtMs: [],
    ends: [],
    bytes: bytes.buffer,
  };
  let end = 0;
  for (const m of batch) {
    bytes.set(m.data, end);
    end += m.data.byteLength;
    packed.seqs.push(m.seq);
    packed.subjects.push(m.subject);
    packed.storedAtMs.push(m.storedAtMs);
    packed.ends.push(end);
  }
  return packed;
}

/** The messages of a packed batch; payloads are views into its buffer. */
export function unpackBatch(p: PackedBatch): RawMessage[] {
  const bytes = new Uint8Array(p.bytes);
  return p.seqs.map((seq, i) => ({
    stream: p.stream,
    seq,
    subject: p.subjects[i]!,
    data: bytes.subarray(i === 0 ? 0 : p.ends[i - 1], p.ends[i]),
    storedAtMs: p.storedAtMs[i]!,
  }));
}
