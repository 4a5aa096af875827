import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { editDistance, suggest } from '../../src/wire/suggest.js';

const EXECUTE_KEYS = ['shell', 'script', 'timeout', 'cwd', 'env', 'run_as'];

describe('suggest', () => {
  it('offers the closest key for a typo', () => {
    assert.equal(suggest('timout', EXECUTE_KEYS), 'timeout');
    assert.equal(suggest('scirpt', EXECUTE_KEYS), 'script');
    assert.equal(suggest('runas', EXECUTE_KEYS), 'run_as');
    assert.equal(suggest('descripton', ['id', 'version', 'description', 'tags']), 'description');
  });

  it('counts a swap of neighbours as one edit', () => {
    assert.equal(editDistance('tiemout', 'timeout'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('abc', 'abc'), 0);
  });

  it('ignores case when comparing', () => {
    assert.equal(suggest('Timeout', EXECUTE_KEYS), 'timeout');
  });

  it('offers nothing when every candidate is too far', () => {
    // 'retries' is 7 letters: at most 2 edits, and nothing here is that close.
    assert.equal(suggest('retries', EXECUTE_KEYS), undefined);
    assert.equal(suggest('x', ['shell']), undefined);
    assert.equal(suggest('timeout', []), undefined);
  });

  it('allows one edit even for short words', () => {
    assert.equal(suggest('ev', EXECUTE_KEYS), 'env');
    assert.equal(suggest('cw', EXECUTE_KEYS), 'cwd');
  });

  it('scales the allowed distance with the word length', () => {
    // 9 letters: up to 3 edits.
    assert.equal(suggest('xxxcripts', ['script']), undefined);
    assert.equal(suggest('deskriptn', ['description']), 'description');
  });

  it('prefers the first candidate on a tie', () => {
    assert.equal(suggest('ab', ['aa', 'bb']), 'aa');
  });
});
