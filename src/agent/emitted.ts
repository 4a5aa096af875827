// Turns a finished run's stdout into the messages its job declared (`emit: events`: ObsEvents,
// `inventory: true`: one Inventory snapshot). They are built before the result goes into the
// outbox and travel in the same outbox entry, so they are published (before the result) with the
// same guarantees: not lost on a crash, deduplicated by their deterministic ids when retried.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  MAX_EMITTED_EVENTS,
  MAX_EVENT_LINE_BYTES,
  encodeInventory,
  encodeObsEvent,
  inventorySubject,
  jobEventId,
  jobInventoryId,
  obsSubject,
  parseInventoryOutput,
  parseJobEventLine,
  type EmitMode,
  type Emitted,
} from '../wire/index.js';

/** A message to publish from the outbox before the result; `data` is the JSON text. */
export type OutboxMessage = { subject: string; msgId: string; data: string };

export type EmitContext = {
  mode: EmitMode;
  pcId: string;
  requestId: string;
  jobId: string;
  /** Default time of events without `at`, and the snapshot time: when the run finished. */
  at: string;
  /** stdout when it was kept inline, else undefined (see `spillFile`). */
  inline: Buffer;
  spillFile: string | null;
};

const text = (data: Uint8Array) => Buffer.from(data).toString('utf8');

export async function collectEmitted(
  ctx: EmitContext,
): Promise<{ messages: OutboxMessage[]; emitted: Emitted }> {
  switch (ctx.mode) {
    case 'events':
      return collectEvents(ctx);
    case 'inventory':
      return collectInventory(ctx);
    default: {
      const never: never = ctx.mode;
      throw new Error(`unhandled emit mode ${String(never)}`);
    }
  }
}

async function* lines(ctx: EmitContext): AsyncGenerator<string> {
  if (ctx.spillFile === null) {
    const all = ctx.inline.toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    yield* all;
    return;
  }
  const rl = createInterface({ input: createReadStream(ctx.spillFile), crlfDelay: Infinity });
  for await (const line of rl) yield line;
}

async function collectEvents(ctx: EmitContext): Promise<{ messages: OutboxMessage[]; emitted: Emitted }> {
  const messages: OutboxMessage[] = [];
  const seen = new Set<string>();
  let invalid = 0;
  let capped = 0;
  let lineNo = 0;
  for await (const line of lines(ctx)) {
    lineNo++;
    if (line.trim() === '') continue; // blank lines are layout, not invalid events
    const ev = Buffer.byteLength(line) <= MAX_EVENT_LINE_BYTES ? parseJobEventLine(line) : undefined;
    if (!ev) {
      invalid++;
      continue;
    }
    if (messages.length >= MAX_EMITTED_EVENTS) {
      invalid++;
      capped++;
      continue;
    }
    const id = jobEventId(ctx.pcId, ctx.requestId, lineNo, ev.id);
    if (seen.has(id)) continue; // the same id twice in one run is one event, as it is across runs
    seen.add(id);
    const data = encodeObsEvent({
      v: 1,
      id,
      pcId: ctx.pcId,
      at: ev.at ?? ctx.at,
      kind: ev.kind,
      source: 'job',
      payload: ev.payload ?? {},
    });
    messages.push({ subject: obsSubject(ctx.pcId), msgId: id, data: text(data) });
  }
  return { messages, emitted: { events: messages.length, invalid, ...(capped > 0 ? { capped } : {}) } };
}

async function collectInventory(ctx: EmitContext): Promise<{ messages: OutboxMessage[]; emitted: Emitted }> {
  // Only an inline stdout (up to 256 KiB) can be a snapshot: larger is refused as invalid.
  const data = ctx.spillFile === null ? parseInventoryOutput(ctx.inline.toString('utf8')) : undefined;
  if (!data) return { messages: [], emitted: { events: 0, invalid: 1 } };
  const id = jobInventoryId(ctx.requestId, ctx.pcId);
  const bytes = encodeInventory({
    v: 1,
    id,
    pcId: ctx.pcId,
    at: ctx.at,
    source: 'job',
    jobId: ctx.jobId,
    data: data as never,
  });
  return {
    messages: [{ subject: inventorySubject(ctx.pcId), msgId: id, data: text(bytes) }],
    emitted: { events: 1, invalid: 0 },
  };
}
