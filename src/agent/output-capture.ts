// Captures one output stream of a script: a sha256 of everything kept, the first 256 KiB in
// memory, and past that the whole kept stream in a spill file that goes to the object store.
// Bytes beyond `maxBytes` are counted as dropped, never silently lost.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { INLINE_OUTPUT_LIMIT } from '../wire/index.js';

export type CapturedStream = {
  bytes: number;
  sha256: string;
  /** The whole kept stream when bytes <= INLINE_OUTPUT_LIMIT; otherwise empty (see spillFile). */
  inline: Buffer;
  /** Path of the kept stream when it is larger than the inline limit. */
  spillFile: string | null;
  dropped: number;
};

export class OutputCapture {
  readonly #hash: Hash = createHash('sha256');
  #head: Buffer[] = [];
  #bytes = 0;
  #dropped = 0;
  #fd: number | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly spillPath: string,
  ) {}

  write(chunk: Buffer): void {
    const room = this.maxBytes - this.#bytes;
    if (room <= 0) {
      this.#dropped += chunk.length;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#dropped += chunk.length - kept.length;
    this.#hash.update(kept);
    this.#bytes += kept.length;
    if (this.#fd === null && this.#bytes <= INLINE_OUTPUT_LIMIT) {
      this.#head.push(kept);
      return;
    }
    if (this.#fd === null) {
      // Crossing the inline limit: move what is in memory to the spill file.
      this.#fd = openSync(this.spillPath, 'w', 0o600);
      for (const b of this.#head) writeSync(this.#fd, b);
      this.#head = [];
    }
    writeSync(this.#fd, kept);
  }

  finish(): CapturedStream {
    if (this.#fd !== null) closeSync(this.#fd);
    const spilled = this.#fd !== null;
    this.#fd = null;
    return {
      bytes: this.#bytes,
      sha256: this.#hash.digest('hex'),
      inline: spilled ? Buffer.alloc(0) : Buffer.concat(this.#head),
      spillFile: spilled ? this.spillPath : null,
      dropped: this.#dropped,
    };
  }
}
