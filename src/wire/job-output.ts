/**
 * What a job's stdout may carry besides output (docs/agents.md): timeline events, one JSON object
 * per line (`emit: events`), or one inventory snapshot (`inventory: true`). Pure parsing and the
 * deterministic ids; the agent reads stdout and publishes.
 */
import { z } from 'zod';

import { EventId, JsonRecord, KindToken, Timestamp } from './fields.js';

/** Most events one run may emit; further valid lines are counted as invalid (and as `capped`). */
export const MAX_EMITTED_EVENTS = 10_000;
/** Longest event line, in bytes; a longer line is invalid. */
export const MAX_EVENT_LINE_BYTES = 64 * 1024;
/** Longest `id` a job may give an event (the agent prefixes it). */
export const MAX_JOB_EVENT_ID_LENGTH = 200;

/** One event line as a job prints it. Unknown keys make the line invalid (catches typos). */
export const JobEventLine = z.strictObject({
  kind: KindToken,
  at: Timestamp.optional(),
  id: EventId.max(MAX_JOB_EVENT_ID_LENGTH).optional(),
  payload: JsonRecord.optional(),
});
export type JobEventLine = z.infer<typeof JobEventLine>;

/** Parses one stdout line; undefined when it is not a valid event line. */
export function parseJobEventLine(line: string): JobEventLine | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = JobEventLine.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The ObsEvent id of an emitted event: `job.<pcId>.<id>` when the job gave one (the same id from
 * any later run of any job on that pc is the same event), else `job.<requestId>.<pcId>.<lineNo>`
 * (1-based), deterministic, so a retried publish or a redelivery is deduplicated.
 */
export function jobEventId(pcId: string, requestId: string, lineNo: number, id?: string): string {
  return id === undefined ? `job.${requestId}.${pcId}.${lineNo}` : `job.${pcId}.${id}`;
}

/** The Inventory id of a job's snapshot: one per request and pc. */
export function jobInventoryId(requestId: string, pcId: string): string {
  return `inv.${requestId}.${pcId}`;
}

/** Parses a job's whole stdout as an inventory snapshot; undefined when it is not one JSON object. */
export function parseInventoryOutput(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = JsonRecord.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
