// A batch as the apply worker receives it: decoded on the receiving thread (decode.ts), so it is
// what each message writes plus the few fields an error row needs, in parallel arrays. It holds no
// payloads but the excerpts of messages recorded as errors, so the receiving thread can let go of
// every message once it is decoded, and the batch is one cheap clone.
import { decodeStreamMessage, type Op } from './decode.js';
import type { ProjectedStream, RawMessage } from './projection.js';

export type DecodedBatch = {
  stream: ProjectedStream;
  seqs: number[];
  subjects: string[];
  storedAtMs: number[];
  /** What message i writes. */
  ops: Op[];
};

/** An empty batch of `stream`, to add decoded messages to. */
export function emptyBatch(stream: ProjectedStream): DecodedBatch {
  return { stream, seqs: [], subjects: [], storedAtMs: [], ops: [] };
}

/** Decodes a message into a batch of its stream. */
export function addMessage(batch: DecodedBatch, m: RawMessage): void {
  if (m.stream !== batch.stream) {
    throw new Error(`a batch mixes streams '${batch.stream}' and '${m.stream}'`);
  }
  batch.seqs.push(m.seq);
  batch.subjects.push(m.subject);
  batch.storedAtMs.push(m.storedAtMs);
  batch.ops.push(decodeStreamMessage(m));
}

/** Decodes messages of one stream (not empty) into a batch. */
export function decodeRawBatch(messages: readonly RawMessage[]): DecodedBatch {
  const batch = emptyBatch(messages[0]!.stream);
  for (const m of messages) addMessage(batch, m);
  return batch;
}

const NO_BYTES = new Uint8Array(0);

/** The messages of a batch as the projection records errors of: payloads are the kept excerpts. */
export function messagesOf(b: DecodedBatch): RawMessage[] {
  return b.seqs.map((seq, i) => {
    const op = b.ops[i]!;
    return {
      stream: b.stream,
      seq,
      subject: b.subjects[i]!,
      data: ('raw' in op && op.raw) || NO_BYTES,
      storedAtMs: b.storedAtMs[i]!,
    };
  });
}
