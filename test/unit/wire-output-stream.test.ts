import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';

import {
  INLINE_OUTPUT_LIMIT,
  OutputStream,
  inlineOutput,
  inlineOutputBytes,
  objectOutput,
  resultIdFor,
  runEventIdFor,
} from '../../src/wire/index.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('wire output streams', () => {
  it('keeps valid UTF-8 as text', () => {
    const bytes = new TextEncoder().encode('héllo ✓\n');
    const stream = inlineOutput(bytes);
    assert.deepEqual(stream, {
      bytes: bytes.length,
      sha256: sha(bytes),
      inline: { encoding: 'utf8', data: 'héllo ✓\n' },
    });
    assert.equal(OutputStream.safeParse(stream).success, true);
    assert.deepEqual(inlineOutputBytes(stream), bytes);
  });

  it('keeps invalid UTF-8 and binary output byte for byte as base64', () => {
    // 0xe9 alone is Latin-1 "é": a legacy code page, not UTF-8.
    const bytes = new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x00, 0xff]);
    const stream = inlineOutput(bytes);
    assert.equal(stream.inline?.encoding, 'base64');
    assert.equal(OutputStream.safeParse(stream).success, true);
    assert.deepEqual(inlineOutputBytes(stream), bytes);
  });

  it('represents empty output without inline data or object', () => {
    const stream = inlineOutput(new Uint8Array(0));
    assert.deepEqual(stream, { bytes: 0, sha256: sha(new Uint8Array(0)) });
    assert.equal(OutputStream.safeParse(stream).success, true);
    assert.deepEqual(inlineOutputBytes(stream), new Uint8Array(0));
  });

  it('refuses inline output above 256 KiB and points to the object store instead', () => {
    assert.equal(INLINE_OUTPUT_LIMIT, 262_144);
    const big = new Uint8Array(INLINE_OUTPUT_LIMIT + 1).fill(0x61);
    assert.throws(() => inlineOutput(big), /exceeds the inline limit of 262144 bytes/);
    assert.equal(inlineOutput(big.subarray(1)).bytes, INLINE_OUTPUT_LIMIT);

    const stream = objectOutput(big.length, sha(big), { bucket: 'result_output', name: 'r/pc/stdout' });
    assert.equal(OutputStream.safeParse(stream).success, true);
    assert.equal(inlineOutputBytes(stream), undefined);
    const forged = { ...stream, inline: { encoding: 'base64', data: Buffer.from(big).toString('base64') } };
    assert.equal(OutputStream.safeParse(forged).success, false);
  });

  it('rejects streams whose inline data does not match bytes or sha256', () => {
    const good = inlineOutput(new TextEncoder().encode('ok\n'));
    const issue = (s: unknown): string => {
      const r = OutputStream.safeParse(s);
      assert.equal(r.success, false);
      const first = r.error?.issues[0];
      return `${first?.path.join('.')}: ${first?.message}`;
    };
    assert.equal(issue({ ...good, bytes: 4 }), 'bytes: must equal the inline length 3');
    assert.equal(
      issue({ ...good, sha256: sha(new Uint8Array(1)) }),
      'sha256: does not match the inline data',
    );
    assert.equal(
      issue({ bytes: 3, sha256: good.sha256 }),
      'inline: inline or object is required when bytes > 0',
    );
    assert.equal(
      issue({ ...good, object: { bucket: 'result_output', name: 'x' } }),
      'object: must not be set together with inline',
    );
    assert.equal(
      issue({ ...good, inline: { encoding: 'base64', data: 'not base64!' } }),
      'inline.data: must be padded base64',
    );
  });
});

describe('deterministic ids', () => {
  it('derives result and run-event ids from request and pc', () => {
    assert.equal(resultIdFor('01HWZ', 'web-01'), '01HWZ.web-01');
    assert.notEqual(resultIdFor('01HWZ', 'web-01'), resultIdFor('01HWZ', 'web-02'));
    assert.equal(runEventIdFor('01HWZ', 'web-01', 'started'), '01HWZ.web-01.started');
  });
});
