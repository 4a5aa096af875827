import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  jobEventId,
  parseInventoryOutput,
  parseJobEventLine,
  parseManifestFile,
  ManifestError,
} from '../../src/wire/index.js';

const job = (top: string) =>
  `kind: job\nid: j\nversion: "1"\n${top}\nexecute:\n  shell: sh\n  timeout: 30s\n  script: echo\n`;

describe('job output: event lines and inventory', () => {
  it('accepts an object with a kind and optional at, id, payload', () => {
    assert.deepEqual(parseJobEventLine('{"kind":"disk_low"}'), { kind: 'disk_low' });
    assert.deepEqual(
      parseJobEventLine(' {"kind":"x","id":"a1","at":"2026-01-01T00:00:00Z","payload":{"n":1}} '),
      {
        kind: 'x',
        id: 'a1',
        at: '2026-01-01T00:00:00Z',
        payload: { n: 1 },
      },
    );
  });

  it('refuses text, bad kinds, bad times, non-object payloads and unknown keys', () => {
    for (const line of [
      'plain text',
      '{"kind":"Disk Low"}',
      '{"kind":"x","at":"yesterday"}',
      '{"kind":"x","payload":[1]}',
      '{"kind":"x","payloads":{}}',
      '{"kind":"x","id":"has space"}',
      '["kind"]',
      '{"kind":',
    ])
      assert.equal(parseJobEventLine(line), undefined, line);
  });

  it('derives ids that stay unique per pc', () => {
    assert.equal(jobEventId('pc-a', 'R1', 3), 'job.R1.pc-a.3');
    assert.equal(jobEventId('pc-a', 'R1', 3, 'b1'), 'job.pc-a.b1');
  });

  it('an inventory is exactly one JSON object', () => {
    assert.deepEqual(parseInventoryOutput('{"os":{"name":"linux"}}\n'), { os: { name: 'linux' } });
    for (const text of ['[1]', '"x"', '{"a":1}\n{"b":2}', 'os=linux', ''])
      assert.equal(parseInventoryOutput(text), undefined, text);
  });

  it('manifests: emit: events and inventory: true are stored; both at once are refused', () => {
    assert.equal(parseManifestFile(job('emit: events'), 'j.yaml').jobs[0]?.manifest.emit, 'events');
    assert.equal(parseManifestFile(job('inventory: true'), 'j.yaml').jobs[0]?.manifest.inventory, true);
    assert.equal(
      'inventory' in parseManifestFile(job('inventory: false'), 'j.yaml').jobs[0]!.manifest,
      false,
    );
    assert.throws(
      () => parseManifestFile(job('emit: metrics'), 'j.yaml'),
      (e: Error) => {
        assert.ok(e instanceof ManifestError);
        assert.match(e.message, /emit/);
        return true;
      },
    );
    assert.throws(() => parseManifestFile(job('emit: events\ninventory: true'), 'j.yaml'), /not both/);
  });
});
