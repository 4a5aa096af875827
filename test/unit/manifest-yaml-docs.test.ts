import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ManifestError } from '../../src/wire/manifest-error.js';
import { MAX_MANIFEST_BYTES } from '../../src/wire/manifest-text.js';
import { splitYamlDocuments } from '../../src/wire/yaml-docs.js';

/** Asserts that `fn` throws a ManifestError whose message is exactly `lines`, one per line. */
function throwsIssues(fn: () => unknown, lines: string[]): ManifestError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ManifestError, `expected a ManifestError, got ${String(caught)}`);
  assert.deepEqual(caught.message.split('\n'), lines);
  return caught;
}

const SINGLE = `# Reports disk usage of the root file system.
kind: job   # the only kind with a script
id: disk-usage
version: 1.2.0
execute:
  shell: sh
  script: |
    # keep the POSIX format
    df -P /

  timeout: 30s
# trailing comment
`;

const MULTI = `# first
kind: job
id: a
---
# second, with a folded scalar
kind: schedule
id: nightly
note: >
  folded
  text
...
# third
---
kind: job
id: c
execute:
  timeout: 5m
`;

describe('splitYamlDocuments', () => {
  it('keeps a single document byte for byte, comments and block scalars included', () => {
    const [doc, ...rest] = splitYamlDocuments(SINGLE, 'jobs/du.yaml');
    assert.equal(rest.length, 0);
    assert.ok(doc);
    assert.equal(doc.text, SINGLE);
    assert.equal(doc.line, 2);
    assert.equal(doc.file, 'jobs/du.yaml');
    assert.deepEqual(doc.value, {
      kind: 'job',
      id: 'disk-usage',
      version: '1.2.0',
      execute: { shell: 'sh', script: '# keep the POSIX format\ndf -P /\n', timeout: '30s' },
    });
  });

  it('splits several documents into slices that concatenate to the file', () => {
    const docs = splitYamlDocuments(MULTI, 'm.yaml');
    assert.deepEqual(
      docs.map((d) => [d.index, d.line]),
      [
        [0, 2],
        [1, 6],
        [2, 14],
      ],
    );
    assert.equal(docs.map((d) => d.text).join(''), MULTI);
    assert.equal(docs[0]?.text, '# first\nkind: job\nid: a\n');
    assert.equal(
      docs[1]?.text,
      '---\n# second, with a folded scalar\nkind: schedule\nid: nightly\nnote: >\n  folded\n  text\n...\n',
    );
    assert.deepEqual(docs[1]?.value, { kind: 'schedule', id: 'nightly', note: 'folded text\n' });
  });

  it('gives each document a text that parses alone to the same value', () => {
    for (const doc of splitYamlDocuments(MULTI, 'm.yaml')) {
      const again = splitYamlDocuments(doc.text, 'again.yaml');
      assert.equal(again.length, 1);
      assert.deepEqual(again[0]?.value, doc.value);
    }
  });

  it('maps field paths to file lines, also in later documents', () => {
    const docs = splitYamlDocuments(MULTI, 'm.yaml');
    assert.equal(docs[2]?.lineAt(['execute', 'timeout']), 17);
    assert.equal(docs[2]?.lineAt(['execute']), 17, 'a block mapping value starts on the next line');
    assert.equal(docs[2]?.lineAt(['execute'], 'key'), 16);
    assert.equal(docs[2]?.lineAt(['execute', 'shell']), 16, 'a missing key maps to its parent key');
    assert.equal(docs[2]?.lineAt(['nope', 'deeper']), 14, 'a missing top-level key maps to the document');
    assert.equal(docs[1]?.lineAt(['note']), 8);
  });

  it('maps list items, empty values and aliases', () => {
    const text = 'tags:\n  - a\n  - b\nempty:\nbase: &b\n  x: 1\ncopy: *b\n';
    const [doc] = splitYamlDocuments(text, 'x.yaml');
    assert.equal(doc?.lineAt(['tags', 1]), 3);
    assert.equal(doc?.lineAt(['tags', 9]), 1);
    assert.equal(doc?.lineAt(['empty']), 4);
    assert.equal(doc?.lineAt(['copy', 'x']), 6, 'through the alias to its anchor');
  });

  it('skips empty files, comment-only files and empty documents', () => {
    assert.deepEqual(splitYamlDocuments('', 'e.yaml'), []);
    assert.deepEqual(splitYamlDocuments('# nothing here\n', 'e.yaml'), []);
    const docs = splitYamlDocuments('---\n# c\n---\nkind: job\n---\n', 'e.yaml');
    assert.deepEqual(
      docs.map((d) => [d.index, d.line, d.text]),
      [[1, 4, '---\nkind: job\n']],
    );
  });

  it('reports YAML syntax errors with line and column, across all documents', () => {
    const err = throwsIssues(
      () =>
        splitYamlDocuments('kind: job\nid: a: b\n---\nkind: job\nexecute:\n\tshell: sh\n', 'jobs/bad.yaml'),
      [
        'jobs/bad.yaml:2:5: Nested mappings are not allowed in compact mappings',
        'jobs/bad.yaml:6:1: Tabs are not allowed as indentation',
      ],
    );
    assert.deepEqual(err.issues[0], {
      file: 'jobs/bad.yaml',
      line: 2,
      column: 5,
      path: '',
      message: 'Nested mappings are not allowed in compact mappings',
    });
    assert.ok(err.cause instanceof AggregateError);
  });

  it('refuses duplicate keys, naming both lines', () => {
    const text = 'kind: job\nexecute:\n  shell: sh\n  timeout: 1s\n  shell: bash\n';
    const err = throwsIssues(
      () => splitYamlDocuments(text, 'jobs/dup.yaml'),
      ["jobs/dup.yaml:5:3: duplicate key 'shell'; first defined on line 3"],
    );
    assert.equal(err.name, 'ManifestError');
    assert.equal((err.cause as { code?: string }).code, 'DUPLICATE_KEY');
  });

  it('refuses unresolved aliases and alias bombs', () => {
    throwsIssues(
      () => splitYamlDocuments('a: 1\nb: *nope\n', 'al.yaml'),
      ['al.yaml:1: Unresolved alias (the anchor must be set before the alias): nope'],
    );
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
    ] as const) {
      bomb.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const err = throwsIssues(
      () => splitYamlDocuments(bomb.join('\n'), 'bomb.yaml'),
      ['bomb.yaml:1: Excessive alias count indicates a resource exhaustion attack'],
    );
    assert.ok(err.cause instanceof ReferenceError);
  });

  it('refuses files over 1 MiB, as text or bytes', () => {
    const big = `kind: job\nscript: "${'x'.repeat(MAX_MANIFEST_BYTES)}"\n`;
    const message = `big.yaml:1: file is ${Buffer.byteLength(big)} bytes; a manifest file may be at most 1048576 bytes (1 MiB)`;
    throwsIssues(() => splitYamlDocuments(big, 'big.yaml'), [message]);
    throwsIssues(() => splitYamlDocuments(Buffer.from(big), 'big.yaml'), [message]);
    // Multi-byte characters count as bytes, not as characters.
    const wide = 'é'.repeat(MAX_MANIFEST_BYTES / 2 + 1);
    throwsIssues(
      () => splitYamlDocuments(wide, 'wide.yaml'),
      [
        `wide.yaml:1: file is ${MAX_MANIFEST_BYTES + 2} bytes; a manifest file may be at most 1048576 bytes (1 MiB)`,
      ],
    );
  });

  it('accepts a file of exactly 1 MiB', () => {
    const head = 'kind: job\nnote: ';
    const text = head + 'x'.repeat(MAX_MANIFEST_BYTES - head.length - 1) + '\n';
    assert.equal(Buffer.byteLength(text), MAX_MANIFEST_BYTES);
    assert.equal(splitYamlDocuments(text, 'edge.yaml').length, 1);
  });

  it('refuses invalid UTF-8 with the position of the bad byte', () => {
    const bytes = Buffer.concat([Buffer.from('kind: job\nid: caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    const err = throwsIssues(
      () => splitYamlDocuments(bytes, 'latin1.yaml'),
      ['latin1.yaml:2:8: not valid UTF-8 (byte 0xe9 at offset 17); a manifest must be UTF-8 text'],
    );
    assert.ok(err.cause instanceof TypeError);
    throwsIssues(
      () => splitYamlDocuments(Buffer.from([0x61, 0x3a, 0x20, 0xe2, 0x82]), 'cut.yaml'),
      ['cut.yaml:1:4: not valid UTF-8 (byte 0xe2 at offset 3); a manifest must be UTF-8 text'],
    );
  });

  it('refuses binary garbage', () => {
    // The start of a PNG file.
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]);
    throwsIssues(
      () => splitYamlDocuments(png, 'logo.png'),
      ['logo.png:1:1: not valid UTF-8 (byte 0x89 at offset 0); a manifest must be UTF-8 text'],
    );
  });

  it('refuses NUL characters, in text and in valid UTF-8 bytes', () => {
    const text = 'kind: job\nid: "a\0b"\n';
    const lines = ['nul.yaml:2:7: contains a NUL character; a manifest must be text, not binary data'];
    throwsIssues(() => splitYamlDocuments(text, 'nul.yaml'), lines);
    throwsIssues(() => splitYamlDocuments(Buffer.from(text), 'nul.yaml'), lines);
  });

  it('decodes UTF-8 bytes and keeps a byte-order mark in the text', () => {
    const text = '\uFEFFkind: job\nid: "café"\n';
    const [doc] = splitYamlDocuments(Buffer.from(text, 'utf8'), 'bom.yaml');
    assert.equal(doc?.text, text);
    assert.deepEqual(doc?.value, { kind: 'job', id: 'café' });
    assert.equal(Buffer.from(doc?.text ?? '', 'utf8').length, Buffer.byteLength(text));
  });
});
