/**
 * Wire version, identifier rules and id generation.
 *
 * Ids end up in three places with different rules: NATS subjects (no `.`, `*`, `>` or
 * whitespace in a token), KV keys (`[-/_=.A-Za-z0-9]`) and file names on endpoints. Every id
 * schema here is safe for all three.
 */
import { randomFillSync } from 'node:crypto';
import { z } from 'zod';

import { WireError, quote } from './errors.js';
import { MAX_TOKEN_LENGTH, NAME_RULE, RESERVED_NAMES, isName } from './names.js';

export { MAX_TOKEN_LENGTH, RESERVED_NAMES, isName };

/** The wire version this build writes and reads; every message carries it as `v`. */
export const WIRE_VERSION = 1;

// Control characters (C0, DEL, C1) and every Unicode white space.
const FORBIDDEN_IN_TOKEN = /[.*>\s\p{Cc}]/u;

/**
 * True when `s` can be used as one NATS subject token: non-empty, at most 128 characters, and
 * without `.`, `*`, `>`, white space or control characters.
 */
export function isSubjectToken(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && s.length <= MAX_TOKEN_LENGTH && !FORBIDDEN_IN_TOKEN.test(s);
}

const TOKEN_RULE = `must be a non-empty subject token without '.', '*', '>' or whitespace (max ${MAX_TOKEN_LENGTH} chars)`;

/**
 * Throws a {@link WireError} unless `value` is a subject token (see {@link isSubjectToken}).
 * `kind` names the value in the message, e.g. `assertSubjectToken('pc id', 'a.b')` throws
 * `invalid pc id "a.b": must be a non-empty subject token without '.', '*', '>' or whitespace (max 128 chars)`.
 */
export function assertSubjectToken(kind: string, value: unknown): asserts value is string {
  if (!isSubjectToken(value))
    throw new WireError(`invalid ${kind} ${quote(value)}: ${TOKEN_RULE}`, { value });
}

/** Any subject token: request ids, exec ids. */
export const SubjectToken = z.string().refine(isSubjectToken, { error: TOKEN_RULE });

/** Endpoint id, e.g. `DESKTOP-7F3K2` or `web-01`: a subject token that is also a KV key. */
export const PcId = z.string().refine(isName, { error: NAME_RULE });
export type PcId = z.infer<typeof PcId>;

/** Group name, e.g. `lab-a`: same rule as {@link PcId}. */
export const GroupName = z.string().refine(isName, { error: NAME_RULE });
export type GroupName = z.infer<typeof GroupName>;

const SLUG_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/** Longest job or schedule id. */
export const MAX_SLUG_LENGTH = 64;
const SLUG_RULE = `must be 1-${MAX_SLUG_LENGTH} lowercase letters, digits, '-' or '_', starting with a letter or digit`;

/** True when `s` is a valid {@link JobId} or {@link ScheduleId}. */
export function isSlug(s: string): boolean {
  return s.length <= MAX_SLUG_LENGTH && SLUG_PATTERN.test(s);
}

/** Job id, e.g. `backup-nightly`: /^[a-z0-9][a-z0-9_-]*$/, at most 64 characters. */
export const JobId = z.string().refine(isSlug, { error: SLUG_RULE });
export type JobId = z.infer<typeof JobId>;

/** Schedule id: same rule as {@link JobId}. */
export const ScheduleId = JobId;
export type ScheduleId = z.infer<typeof ScheduleId>;

/** Request id (one per published exec request): any subject token; {@link newId} makes one. */
export const RequestId = SubjectToken;
export type RequestId = z.infer<typeof RequestId>;

/** Exec id (one per fire or ad-hoc run, shared by its requests): any subject token. */
export const ExecId = SubjectToken;
export type ExecId = z.infer<typeof ExecId>;

// Crockford base32: sorts the same as a string and as the number it encodes.
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10; // 48 bits of milliseconds
const RANDOM_BYTES = 10; // 80 bits, 16 characters

let lastTimeMs = -1;
const lastRandom = new Uint8Array(RANDOM_BYTES);

/**
 * A new 26-character id (ULID layout: 48-bit millisecond time, then 80 random bits, Crockford
 * base32). Ids sort by creation time; ids made in the same millisecond by this process still
 * sort in creation order, because the random part is incremented instead of redrawn. That also
 * holds when the clock steps back: the last time is reused until the clock catches up.
 *
 * @param nowMs the time to encode; default `Date.now()`.
 */
export function newId(nowMs: number = Date.now()): string {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0 || nowMs >= 2 ** 48) {
    throw new WireError(`invalid id time ${quote(nowMs)}: must be an integer between 0 and 2^48-1 ms`);
  }
  if (nowMs > lastTimeMs) {
    lastTimeMs = nowMs;
    randomFillSync(lastRandom);
  } else if (!increment(lastRandom)) {
    // 2^80 ids in one millisecond cannot happen; move to the next millisecond rather than wrap.
    lastTimeMs += 1;
    randomFillSync(lastRandom);
  }
  return encodeBase32(BigInt(lastTimeMs), TIME_CHARS) + encodeBase32(bytesToBigInt(lastRandom), 16);
}

/** Adds one to a big-endian byte string; false when it overflowed (all bytes wrapped to 0). */
function increment(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 1; i >= 0; i--) {
    const next = (bytes[i] ?? 0) + 1;
    bytes[i] = next & 0xff;
    if (next <= 0xff) return true;
  }
  return false;
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function encodeBase32(n: bigint, chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) {
    out = CROCKFORD.charAt(Number(n & 31n)) + out;
    n >>= 5n;
  }
  return out;
}
