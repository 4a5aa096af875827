import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXEC_JOB_ID } from '../../src/agent/index.js';
import { parseManifestFile } from '../../src/wire/index.js';
import { RESERVED_JOB_ID } from '../../src/wire/manifest.js';

test("the id 'exec' is reserved for baton exec, so no catalog job can skip the pin and revocation checks", () => {
  assert.equal(RESERVED_JOB_ID, EXEC_JOB_ID);
  assert.throws(
    () =>
      parseManifestFile(
        'kind: job\nid: exec\nversion: "1"\nexecute: { shell: sh, script: x, timeout: 5s }\n',
        'x.yaml',
      ),
    /x\.yaml:2: id: 'exec' is reserved for baton exec; choose another id/,
  );
  assert.equal(
    parseManifestFile(
      'kind: job\nid: exec-2\nversion: "1"\nexecute: { shell: sh, script: x, timeout: 5s }\n',
      'x.yaml',
    ).jobs.length,
    1,
  );
});
