import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';

import { JobManifest } from '../../src/wire/manifest.js';
import { ManifestError } from '../../src/wire/manifest-error.js';
import { parseManifestFile, parseManifestFiles } from '../../src/wire/manifest-file.js';

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
  assert.equal(caught.issues.length, lines.length);
  return caught;
}

/** A valid job manifest with `id`; `extra` lines are appended under `execute:`. */
function job(id: string, extra = ''): string {
  return `kind: job\nid: ${id}\nversion: 1.0.0\nexecute:\n  shell: sh\n  script: echo hi\n  timeout: 30s\n${extra}`;
}

const FULL = `# yaml-language-server: $schema=../baton-job.schema.json
kind: job
id: disk-usage            # unique in the fleet
version: 1.2.0
description: Report root disk usage
tags: [inventory, linux]
execute:
  shell: sh
  script: |
    # POSIX output, one line per file system
    df -P /
  timeout: 1h30m
  cwd: /tmp
  env: { LC_ALL: C, EMPTY: '' }
  run_as: user
`;

describe('parseManifestFile: valid files', () => {
  it('normalizes a full job and keeps its YAML byte for byte', () => {
    const { jobs, others } = parseManifestFile(FULL, 'jobs/du.yaml');
    assert.deepEqual(others, []);
    assert.equal(jobs.length, 1);
    const [parsed] = jobs;
    assert.equal(parsed?.yaml, FULL);
    assert.equal(parsed?.file, 'jobs/du.yaml');
    assert.equal(parsed?.line, 2);
    assert.deepEqual(parsed?.manifest, {
      kind: 'job',
      id: 'disk-usage',
      version: '1.2.0',
      description: 'Report root disk usage',
      tags: ['inventory', 'linux'],
      execute: {
        shell: 'sh',
        script: '# POSIX output, one line per file system\ndf -P /\n',
        timeoutMs: 5_400_000,
        cwd: '/tmp',
        env: { LC_ALL: 'C', EMPTY: '' },
        runAs: 'user',
      },
    });
  });

  it('applies defaults and leaves optional fields out', () => {
    const [parsed] = parseManifestFile(job('minimal'), 'm.yaml').jobs;
    assert.deepEqual(parsed?.manifest, {
      kind: 'job',
      id: 'minimal',
      version: '1.0.0',
      tags: [],
      execute: { shell: 'sh', script: 'echo hi', timeoutMs: 30_000, env: {}, runAs: 'system' },
    });
    assert.ok(parsed && !('description' in parsed.manifest) && !('cwd' in parsed.manifest.execute));
  });

  it('produces what the stored JobManifest schema reads back from JSON', () => {
    const [parsed] = parseManifestFile(FULL, 'jobs/du.yaml').jobs;
    const stored: unknown = JSON.parse(JSON.stringify(parsed?.manifest));
    assert.deepEqual(JobManifest.parse(stored), parsed?.manifest);
  });

  it('accepts a Buffer', () => {
    const [parsed] = parseManifestFile(Buffer.from(FULL), 'jobs/du.yaml').jobs;
    assert.equal(parsed?.yaml, FULL);
  });

  it('reads several documents and passes schedules through raw', () => {
    const schedule = '---\n# nightly run\nkind: schedule\nid: nightly\njob: a\ncron: "0 3 * * *"\n';
    const text = `${job('a')}${schedule}---\n${job('b', '  run_as: user\n')}`;
    const { jobs, others } = parseManifestFile(text, 'all.yaml');
    assert.deepEqual(
      jobs.map((j) => [j.manifest.id, j.line, j.manifest.execute.runAs]),
      [
        ['a', 1, 'system'],
        ['b', 15, 'user'],
      ],
    );
    assert.equal(jobs[0]?.yaml, job('a'));
    assert.equal(jobs[1]?.yaml, `---\n${job('b', '  run_as: user\n')}`);
    assert.equal(others.length, 1);
    const [raw] = others;
    assert.equal(raw?.kind, 'schedule');
    assert.equal(raw?.yaml, schedule);
    assert.equal(raw?.file, 'all.yaml');
    assert.equal(raw?.line, 10);
    assert.deepEqual(raw?.value, { kind: 'schedule', id: 'nightly', job: 'a', cron: '0 3 * * *' });
    assert.equal(raw?.lineAt(['cron']), 13);
  });

  it('accepts the timeout bounds 1s and 24h', () => {
    for (const [timeout, ms] of [
      ['1s', 1_000],
      ['1000ms', 1_000],
      ['24h', 86_400_000],
      ['1d', 86_400_000],
      ['23h59m59s', 86_399_000],
    ] as const) {
      const text = job('t').replace('timeout: 30s', `timeout: ${timeout}`);
      assert.equal(parseManifestFile(text, 't.yaml').jobs[0]?.manifest.execute.timeoutMs, ms, timeout);
    }
  });

  it('yields nothing for an empty file', () => {
    assert.deepEqual(parseManifestFile('', 'e.yaml'), { jobs: [], others: [] });
  });
});

describe('parseManifestFile: errors', () => {
  it('lists every problem of a file, each with its line', () => {
    const text = `kind: job
id: Disk Usage
execute:
  timout: 30s
  script: echo
  timeout: 90000h
  shell: zsh
version: 1.0.0
`;
    const err = throwsIssues(
      () => parseManifestFile(text, 'jobs/backup.yaml'),
      [
        "jobs/backup.yaml:2: id: 'Disk Usage' is invalid; must match [a-z0-9][a-z0-9_-]* (max 64 chars)",
        "jobs/backup.yaml:4: execute: unknown key 'timout'; did you mean 'timeout'?",
        "jobs/backup.yaml:6: execute.timeout: '90000h' is out of range; allowed 1s..24h",
        "jobs/backup.yaml:7: execute.shell: 'zsh' is not allowed; expected one of sh, bash, pwsh, powershell, cmd",
      ],
    );
    assert.equal(err.name, 'ManifestError');
    assert.deepEqual(err.issues[1], {
      file: 'jobs/backup.yaml',
      line: 4,
      path: 'execute',
      message: "unknown key 'timout'; did you mean 'timeout'?",
    });
    assert.ok(err.cause instanceof z.ZodError);
  });

  it('reports missing required fields at the line of their parent', () => {
    throwsIssues(
      () =>
        parseManifestFile(
          '{kind: job, id: x, version: "1", execute: {shell: sh, script: echo}}\n',
          'jobs/x.yaml',
        ),
      ['jobs/x.yaml:1: execute.timeout: required'],
    );
    throwsIssues(
      () => parseManifestFile('# header\n\nkind: job\nid: x\nexecute:\n  shell: sh\n', 'jobs/y.yaml'),
      [
        'jobs/y.yaml:3: version: required',
        'jobs/y.yaml:5: execute.timeout: required',
        'jobs/y.yaml:5: execute.script: required; write the script inline (script) or name a stored one (script_object: <name>/<version>)',
      ],
    );
  });

  it('reports wrong types with the value, and says to quote numbers and booleans', () => {
    const text = `kind: job
id: 5
version: 1.10
tags: inventory
execute:
  shell: sh
  script: 5
  timeout: 30
  env:
    RETRIES: 3
    VERBOSE: true
    EMPTY:
`;
    const quote = 'put it in quotes to make it a string';
    throwsIssues(
      () => parseManifestFile(text, 'jobs/types.yaml'),
      [
        `jobs/types.yaml:2: id: expected a string, got number 5; ${quote}`,
        `jobs/types.yaml:3: version: expected a string, got number 1.1; ${quote}`,
        "jobs/types.yaml:4: tags: expected a list, got string 'inventory'",
        `jobs/types.yaml:7: execute.script: expected a string, got number 5; ${quote}`,
        `jobs/types.yaml:8: execute.timeout: expected a string, got number 30; ${quote}`,
        `jobs/types.yaml:10: execute.env.RETRIES: expected a string, got number 3; ${quote}`,
        `jobs/types.yaml:11: execute.env.VERBOSE: expected a string, got boolean true; ${quote}`,
        "jobs/types.yaml:12: execute.env.EMPTY: expected a string, got null; write '' for an empty string",
      ],
    );
    throwsIssues(
      () => parseManifestFile('kind: job\nid: x\nversion: "1"\nexecute: [sh]\n', 'jobs/list.yaml'),
      ['jobs/list.yaml:4: execute: expected a mapping, got a list'],
    );
  });

  it('reports bad values and unknown keys with what is allowed', () => {
    const tags = Array.from({ length: 21 }, (_, i) => `t${i}`).join(', ');
    const text = `kind: job
id: ok
version: "1.0 beta"
descripton: typo
retries: 3
tags: [${tags}]
execute:
  shell: sh
  script: ""
  timeout: 30m1h
  cwd: ""
  run_as: root
  env:
    bad-key: x
    1ST: y
`;
    throwsIssues(
      () => parseManifestFile(text, 'jobs/values.yaml'),
      [
        "jobs/values.yaml:3: version: '1.0 beta' is invalid; must be 1-64 characters without whitespace, e.g. 1.2.0",
        "jobs/values.yaml:4: unknown key 'descripton'; did you mean 'description'?",
        "jobs/values.yaml:5: unknown key 'retries'",
        'jobs/values.yaml:6: tags: at most 20 tags are allowed, got 21',
        "jobs/values.yaml:9: execute.script: '' is invalid; must not be empty",
        "jobs/values.yaml:10: execute.timeout: '30m1h' is invalid; must be a duration such as 30s, 5m or 1h30m (units d, h, m, s, ms, largest first)",
        "jobs/values.yaml:11: execute.cwd: '' is invalid; must not be empty",
        "jobs/values.yaml:12: execute.run_as: 'root' is not allowed; expected one of system, user",
        "jobs/values.yaml:14: execute.env: key 'bad-key' is invalid; must match [A-Za-z_][A-Za-z0-9_]*",
        "jobs/values.yaml:15: execute.env: key '1ST' is invalid; must match [A-Za-z_][A-Za-z0-9_]*",
      ],
    );
  });

  it('reports timeouts outside 1s..24h', () => {
    for (const timeout of ['999ms', '0s', '24h1s', '2d']) {
      const text = job('t').replace('timeout: 30s', `timeout: ${timeout}`);
      throwsIssues(
        () => parseManifestFile(text, 't.yaml'),
        [`t.yaml:7: execute.timeout: '${timeout}' is out of range; allowed 1s..24h`],
      );
    }
  });

  it('checks the length limits of id, tags and description', () => {
    const long = 'a'.repeat(65);
    const text = `kind: job\nid: ${long}\nversion: "1"\ndescription: ${'d'.repeat(501)}\ntags: [ok, Bad]\nexecute:\n  shell: sh\n  script: x\n  timeout: 1s\n`;
    throwsIssues(
      () => parseManifestFile(text, 'l.yaml'),
      [
        `l.yaml:2: id: '${'a'.repeat(59)}…' is invalid; must match [a-z0-9][a-z0-9_-]* (max 64 chars)`,
        `l.yaml:4: description: '${'d'.repeat(59)}…' is invalid; must be at most 500 characters`,
        "l.yaml:5: tags[1]: 'Bad' is invalid; must match [a-z0-9][a-z0-9_.-]* (max 64 chars)",
      ],
    );
  });

  it('refuses unknown kinds, missing kinds and documents that are not mappings', () => {
    const text = 'kind: jbo\nid: x\n---\nid: y\n---\n- a list\n---\nkind: 5\n---\nplain text\n';
    const err = throwsIssues(
      () => parseManifestFile(text, 'kinds.yaml'),
      [
        "kinds.yaml:1: kind: 'jbo' is not allowed; expected one of job, schedule",
        'kinds.yaml:4: kind: required; expected one of job, schedule',
        "kinds.yaml:6: expected a mapping with a 'kind' key, got a list",
        'kinds.yaml:8: kind: number 5 is not allowed; expected one of job, schedule',
        "kinds.yaml:10: expected a mapping with a 'kind' key, got string 'plain text'",
      ],
    );
    assert.equal(err.cause, undefined);
  });

  it('reports problems of every document, in line order', () => {
    const text = `${job('a', '  shel: sh\n')}---\n${job('B')}`;
    const err = throwsIssues(
      () => parseManifestFile(text, 'two.yaml'),
      [
        "two.yaml:8: execute: unknown key 'shel'; did you mean 'shell'?",
        "two.yaml:11: id: 'B' is invalid; must match [a-z0-9][a-z0-9_-]* (max 64 chars)",
      ],
    );
    assert.ok(err.cause instanceof AggregateError);
  });

  it('refuses a job id defined twice in one file, naming both places', () => {
    throwsIssues(
      () => parseManifestFile(`${job('dup')}---\n${job('dup')}`, 'jobs/d.yaml'),
      ["jobs/d.yaml:10: id: duplicate job id 'dup'; also defined at jobs/d.yaml:2"],
    );
  });

  it('reports syntax errors instead of validating the file', () => {
    throwsIssues(
      () => parseManifestFile('kind: job\nid: a: b\n', 'jobs/syntax.yaml'),
      ['jobs/syntax.yaml:2:5: Nested mappings are not allowed in compact mappings'],
    );
    throwsIssues(
      () => parseManifestFile('kind: job\nid: a\nid: b\n', 'jobs/dupkey.yaml'),
      ["jobs/dupkey.yaml:3:1: duplicate key 'id'; first defined on line 2"],
    );
  });
});

describe('parseManifestFiles', () => {
  it('refuses a job id defined in two files, naming both places', () => {
    throwsIssues(
      () =>
        parseManifestFiles([
          { file: 'jobs/a.yaml', text: job('same') },
          { file: 'jobs/ok.yaml', text: job('other') },
          { file: 'jobs/b.yaml', text: `# copy\n${job('same')}` },
        ]),
      ["jobs/b.yaml:3: id: duplicate job id 'same'; also defined at jobs/a.yaml:2"],
    );
  });

  it('collects the problems of every file, in file order', () => {
    const err = throwsIssues(
      () =>
        parseManifestFiles([
          { file: 'z.yaml', text: job('z', '  cwd: ""\n') },
          { file: 'bin.yaml', text: Buffer.from([0xff, 0xfe, 0x00]) },
          { file: 'a.yaml', text: 'kind: nope\n' },
        ]),
      [
        "z.yaml:8: execute.cwd: '' is invalid; must not be empty",
        'bin.yaml:1:1: not valid UTF-8 (byte 0xff at offset 0); a manifest must be UTF-8 text',
        "a.yaml:1: kind: 'nope' is not allowed; expected one of job, schedule",
      ],
    );
    assert.deepEqual(
      err.issues.map((i) => i.file),
      ['z.yaml', 'bin.yaml', 'a.yaml'],
    );
  });

  it('returns the jobs and other documents of all files in order', () => {
    const { jobs, others } = parseManifestFiles([
      { file: 'a.yaml', text: job('one') },
      { file: 's.yaml', text: 'kind: schedule\nid: s\n' },
      { file: 'b.yaml', text: job('two') },
    ]);
    assert.deepEqual(
      jobs.map((j) => `${j.file}:${j.manifest.id}`),
      ['a.yaml:one', 'b.yaml:two'],
    );
    assert.deepEqual(
      others.map((o) => o.file),
      ['s.yaml'],
    );
  });
});

describe('script objects and packages in manifests', () => {
  const base = 'kind: job\nid: x\nversion: "1"\nexecute:\n  shell: sh\n  timeout: 30s\n';

  it('stores script_object and packages instead of an inline script', () => {
    const [parsed] = parseManifestFile(
      `${base}  script_object: cleanup/1.2.0\n  packages: [tool-cli/2.1, 7zip/23.01]\n`,
      'jobs/x.yaml',
    ).jobs;
    assert.deepEqual(parsed?.manifest.execute, {
      shell: 'sh',
      scriptObject: 'cleanup/1.2.0',
      packages: ['tool-cli/2.1', '7zip/23.01'],
      timeoutMs: 30_000,
      env: {},
      runAs: 'system',
    });
  });

  it('refuses both script and script_object, bad references, and two versions of one package', () => {
    throwsIssues(
      () =>
        parseManifestFile(
          `${base}  script: echo\n  script_object: Cleanup\n  packages: [tool/1, tool/2, 'a/b/c']\n`,
          'jobs/x.yaml',
        ),
      [
        'jobs/x.yaml:8: execute.script_object: must be <name>/<version>: name [a-z0-9][a-z0-9_.-]*, version [A-Za-z0-9][A-Za-z0-9_.+-]*, each at most 64 characters, e.g. cleanup/1.2.0',
        'jobs/x.yaml:8: execute.script_object: give either script or script_object, not both',
        'jobs/x.yaml:9: execute.packages[2]: must be <name>/<version>: name [a-z0-9][a-z0-9_.-]*, version [A-Za-z0-9][A-Za-z0-9_.+-]*, each at most 64 characters, e.g. cleanup/1.2.0',
        "jobs/x.yaml:9: execute.packages[1]: 'tool/2' clashes with 'tool/1': both would be BATON_PACKAGE_TOOL; a job takes one version of each package",
      ],
    );
  });
});
