/**
 * The guard in front of the YAML parser: manifest files are small UTF-8 text, and anything else
 * (a binary picked up by a glob, a file in another encoding) is refused with its position.
 */
import { ManifestError } from './manifest-error.js';

/** Largest manifest file accepted, in bytes: 1 MiB. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Enforces the {@link MAX_MANIFEST_BYTES} limit, decodes bytes as strict UTF-8 (a byte-order
 * mark is kept) and refuses NUL characters. Throws {@link ManifestError} with the line and
 * column of the first bad byte.
 */
export function decodeManifestText(input: string | Uint8Array, file: string): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > MAX_MANIFEST_BYTES) {
    throw new ManifestError([
      {
        file,
        line: 1,
        path: '',
        message: `file is ${size} bytes; a manifest file may be at most ${MAX_MANIFEST_BYTES} bytes (1 MiB)`,
      },
    ]);
  }
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      // ignoreBOM keeps a byte-order mark in the text, so the stored YAML stays byte for byte.
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch (err) {
      const offset = firstInvalidUtf8(input);
      const { line, column } = position(input, offset, 0x0a);
      const what = `byte 0x${(input[offset] ?? 0).toString(16).padStart(2, '0')} at offset ${offset}`;
      throw new ManifestError(
        [
          {
            file,
            line,
            column,
            path: '',
            message: `not valid UTF-8 (${what}); a manifest must be UTF-8 text`,
          },
        ],
        { cause: err },
      );
    }
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const { line, column } = position(text, nul, '\n');
    throw new ManifestError([
      {
        file,
        line,
        column,
        path: '',
        message: 'contains a NUL character; a manifest must be text, not binary data',
      },
    ]);
  }
  return text;
}

/**
 * Offset where the first invalid UTF-8 sequence starts. Streaming decoding tolerates only an
 * unfinished last character, so the longest prefix that decodes that way ends at the first
 * byte that cannot continue; validity of prefixes is monotonic, so a binary search finds it.
 * If that prefix itself ends inside a character, the bad sequence starts at that character.
 */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const decodes = (end: number, stream: boolean): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end), { stream });
      return true;
    } catch {
      // Expected: the prefix holds an invalid sequence; the caller narrows the search.
      return false;
    }
  };
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (decodes(mid, true)) lo = mid;
    else hi = mid - 1;
  }
  if (decodes(lo, false)) return lo;
  let start = lo - 1;
  while (start > 0 && ((bytes[start] ?? 0) & 0xc0) === 0x80) start--;
  return start;
}

/** 1-based line and column of `offset` in a string or byte array. */
function position<T extends string | Uint8Array>(
  data: T,
  offset: number,
  newline: T[number],
): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (data[i] === newline) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
