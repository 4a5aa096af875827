/**
 * OutputStream: how an ExecResult carries one of stdout/stderr.
 *
 * Up to {@link INLINE_OUTPUT_LIMIT} bytes travel inline; more goes to the `result_output` object
 * store and the result carries a pointer. Either way `bytes` and `sha256` describe the full
 * stream. Inline output is stored as text when it is valid UTF-8, else as base64, so a binary or
 * mis-encoded stream comes back byte for byte.
 */
import { createHash, hash } from 'node:crypto';
import { z } from 'zod';

import { NonNegativeInt, SHA256_HEX_PATTERN, Sha256Hex, isNonNegativeInt, isRecord } from './fields.js';

/** Largest stream carried inline in a result: 256 KiB. Larger streams go to the object store. */
export const INLINE_OUTPUT_LIMIT = 256 * 1024;

/** Inline bytes: `utf8` when the stream is valid UTF-8, else `base64`. */
export const InlineOutput = z.object({
  encoding: z.enum(['utf8', 'base64']),
  data: z.string(),
});
export type InlineOutput = z.infer<typeof InlineOutput>;

/** Pointer to an object holding the full stream. */
export const OutputObject = z.object({ bucket: z.string().min(1), name: z.string().min(1) });
export type OutputObject = z.infer<typeof OutputObject>;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * One output stream: `bytes` and `sha256` of the whole stream, plus exactly one of `inline` or
 * `object` when `bytes > 0` (neither when it is empty). Inline data must match `bytes` and
 * `sha256` and fit {@link INLINE_OUTPUT_LIMIT}.
 */
export const OutputStream = z
  .object({
    bytes: NonNegativeInt,
    sha256: Sha256Hex,
    inline: InlineOutput.optional(),
    object: OutputObject.optional(),
    /**
     * Bytes the script wrote past the agent's capture limit (`max_output_bytes`), counted but not
     * kept; `bytes` and `sha256` describe what was kept. Absent when nothing was dropped.
     */
    dropped: NonNegativeInt.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.inline !== undefined && s.object !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['object'], message: 'must not be set together with inline' });
      return;
    }
    if (s.bytes === 0 && s.object !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['object'], message: 'must be absent when bytes is 0' });
    }
    if (s.bytes > 0 && s.inline === undefined && s.object === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['inline'],
        message: 'inline or object is required when bytes > 0',
      });
    }
    if (s.inline === undefined) return;
    if (s.inline.encoding === 'base64' && !BASE64.test(s.inline.data)) {
      ctx.addIssue({ code: 'custom', path: ['inline', 'data'], message: 'must be padded base64' });
      return;
    }
    const raw = inlineBytes(s.inline);
    if (raw.length > INLINE_OUTPUT_LIMIT) {
      ctx.addIssue({
        code: 'custom',
        path: ['inline', 'data'],
        message: `must be at most ${INLINE_OUTPUT_LIMIT} bytes; larger output goes to the object store`,
      });
    } else if (raw.length !== s.bytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['bytes'],
        message: `must equal the inline length ${raw.length}`,
      });
    } else if (sha256Hex(raw) !== s.sha256) {
      ctx.addIssue({ code: 'custom', path: ['sha256'], message: 'does not match the inline data' });
    }
  });
export type OutputStream = z.infer<typeof OutputStream>;

/**
 * Reads the common shapes of an {@link OutputStream} by hand (a `FastReader`, see codec.ts): empty,
 * inline UTF-8, or an object pointer, with every check of the schema, the inline length and sha256
 * included. Returns what the schema would return, or `undefined` for anything else (base64,
 * invalid values), which the schema then decides.
 */
export function fastOutputStream(v: unknown): OutputStream | undefined {
  if (!isRecord(v)) return undefined;
  const { bytes, sha256, inline, object, dropped } = v;
  if (!isNonNegativeInt(bytes) || typeof sha256 !== 'string' || !SHA256_HEX_PATTERN.test(sha256)) {
    return undefined;
  }
  if (dropped !== undefined && !isNonNegativeInt(dropped)) return undefined;
  const out: OutputStream = { bytes, sha256 };
  if (inline !== undefined) {
    if (object !== undefined || !isRecord(inline)) return undefined;
    const { encoding, data } = inline;
    if (encoding !== 'utf8' || typeof data !== 'string') return undefined;
    // The bytes the schema checks are Buffer.from(data, 'utf8'); measure and hash the same
    // encoding without copying the string into a buffer first.
    if (bytes > INLINE_OUTPUT_LIMIT || Buffer.byteLength(data, 'utf8') !== bytes) return undefined;
    if (hash('sha256', data, 'hex') !== sha256) return undefined;
    out.inline = { encoding, data };
  } else if (object !== undefined) {
    if (bytes === 0 || !isRecord(object)) return undefined;
    const { bucket, name } = object;
    if (typeof bucket !== 'string' || bucket === '' || typeof name !== 'string' || name === '') {
      return undefined;
    }
    out.object = { bucket, name };
  } else if (bytes > 0) {
    return undefined;
  }
  if (dropped !== undefined) out.dropped = dropped;
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Builds an inline {@link OutputStream} from a whole stream of at most
 * {@link INLINE_OUTPUT_LIMIT} bytes. Throws RangeError when it is larger (use
 * {@link objectOutput}).
 */
export function inlineOutput(bytes: Uint8Array): OutputStream {
  if (bytes.length > INLINE_OUTPUT_LIMIT) {
    throw new RangeError(
      `output of ${bytes.length} bytes exceeds the inline limit of ${INLINE_OUTPUT_LIMIT} bytes`,
    );
  }
  const sha256 = sha256Hex(bytes);
  if (bytes.length === 0) return { bytes: 0, sha256 };
  let inline: InlineOutput;
  try {
    inline = { encoding: 'utf8', data: strictUtf8.decode(bytes) };
  } catch {
    // Not valid UTF-8 (binary output, a legacy code page): keep the exact bytes as base64.
    inline = { encoding: 'base64', data: Buffer.from(bytes).toString('base64') };
  }
  return { bytes: bytes.length, sha256, inline };
}

/** Builds an {@link OutputStream} that points at an object holding the full stream. */
export function objectOutput(bytes: number, sha256: string, object: OutputObject): OutputStream {
  return { bytes, sha256, object };
}

/**
 * The bytes of an inline stream (an empty array for an empty stream), or `undefined` when the
 * stream lives in the object store.
 */
export function inlineOutputBytes(stream: OutputStream): Uint8Array | undefined {
  if (stream.inline !== undefined) return inlineBytes(stream.inline);
  return stream.bytes === 0 ? new Uint8Array(0) : undefined;
}

function inlineBytes(inline: InlineOutput): Uint8Array {
  // Copy out of the Buffer: callers get a plain Uint8Array that does not alias Buffer's pool.
  return new Uint8Array(Buffer.from(inline.data, inline.encoding));
}

/** Lowercase hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
