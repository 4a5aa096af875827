import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffInventory, flattenInventory } from '../../src/projector/index.js';

describe('inventory change history', () => {
  it('flattens nested objects to dotted fields; arrays and empty objects are values', () => {
    assert.deepEqual(
      [...flattenInventory({ os: { name: 'linux', ver: { major: 6 } }, disks: ['a'], tags: {}, n: null })],
      [
        ['os.name', 'linux'],
        ['os.ver.major', 6],
        ['disks', ['a']],
        ['tags', {}],
        ['n', null],
      ],
    );
  });

  it('lists added, removed and changed fields, sorted by field', () => {
    assert.deepEqual(
      diffInventory({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { a: 1, b: { c: 4 }, e: [1], f: 'x' }),
      [
        { field: 'b.c', change: 'changed', from: 2, to: 4 },
        { field: 'b.d', change: 'removed', from: 3 },
        { field: 'f', change: 'added', to: 'x' },
      ],
    );
    assert.deepEqual(diffInventory({ a: { x: 1 } }, { a: { x: 1 } }), []);
    // Key order inside a value does not make a change.
    assert.deepEqual(diffInventory({ a: [{ x: 1, y: 2 }] }, { a: [{ y: 2, x: 1 }] }), []);
  });
});
