/**
 * Field schemas shared by several messages: wire version, timestamps, hashes, JSON records.
 */
import { z } from 'zod';

import { WIRE_VERSION } from './ids.js';

/** The `v` field: exactly {@link WIRE_VERSION}; other versions are rejected with a clear message. */
export const WireVersion = z.literal(WIRE_VERSION, {
  error: `unsupported wire version; this build reads and writes v${WIRE_VERSION}`,
});

/**
 * RFC 3339 timestamp in UTC with a `Z` suffix and optional fraction, e.g.
 * `2024-05-01T12:00:00Z` or `2024-05-01T12:00:00.123Z` (what `Date#toISOString` writes).
 */
export const Timestamp = z.iso.datetime({
  error: 'must be an RFC 3339 UTC timestamp such as "2024-05-01T12:00:00Z"',
});
export type Timestamp = z.infer<typeof Timestamp>;

/**
 * The pattern {@link Timestamp} checks (zod's own), for hand-written readers that must accept
 * exactly the same timestamps. `undefined` if zod ever stops exposing it: such readers then
 * decline and leave the value to the schema.
 */
export const TIMESTAMP_PATTERN: RegExp | undefined = Timestamp.def.pattern;

/** Formats a date (default: now) as a wire {@link Timestamp}. */
export function toTimestamp(date: Date = new Date()): Timestamp {
  return date.toISOString();
}

/** The pattern of {@link Sha256Hex}. */
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

/** Lowercase hex SHA-256, 64 characters. */
export const Sha256Hex = z
  .string()
  .regex(SHA256_HEX_PATTERN, { error: 'must be 64 lowercase hex characters (sha256)' });

/** True for what {@link NonNegativeInt} accepts (hand-written readers). */
export function isNonNegativeInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/** True for a value zod reads as an object: not null, not an array. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A non-negative integer (counts, milliseconds). */
export const NonNegativeInt = z
  .int({ error: 'must be a non-negative integer' })
  .nonnegative({ error: 'must be a non-negative integer' });

const REVISION_RULE = 'must be a positive integer (KV revision)';

/** A KV revision: a positive integer. */
export const Revision = z.int({ error: REVISION_RULE }).positive({ error: REVISION_RULE });

/** A KV revision or `null` (no such key, or no KV involved). */
export const NullableRevision = z
  .int({ error: `${REVISION_RULE} or null` })
  .positive({ error: REVISION_RULE })
  .nullable();

/** A non-empty string without line breaks, at most `max` characters. */
export function oneLine(max: number): z.ZodString {
  return z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` })
    .regex(/^[^\r\n]*$/, { error: 'must be a single line' });
}

/** The pattern of {@link KindToken}. */
export const KIND_TOKEN_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** Lowercase snake-case word, e.g. `agent_online`: event kinds, target kinds. */
export const KindToken = z.string().regex(KIND_TOKEN_PATTERN, {
  error: 'must be 1-64 lowercase letters, digits or _, starting with a letter',
});

/** A JSON object with arbitrary JSON values (payloads, inventory data, audit details). */
export const JsonRecord = z.record(z.string(), z.json());
export type JsonRecord = z.infer<typeof JsonRecord>;

/** A string-to-string map (environment variables, parameters). */
export const StringRecord = z.record(z.string(), z.string());
export type StringRecord = z.infer<typeof StringRecord>;

/** Id of an event or receipt (usually a `newId()` or a deterministic composite); also its `Nats-Msg-Id`. */
export const EventId = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(512, { error: 'must be at most 512 characters' })
  .regex(/^[^\s\p{Cc}]+$/u, { error: 'must not contain whitespace or control characters' });
