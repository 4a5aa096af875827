// Golden examples for every wire message: the canonical JSON parses and re-encodes byte for
// byte, readers tolerate unknown fields while writers reject them, and invalid messages fail
// with an error that names the field path and quotes the bad value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  WireError,
  encodeAgentState,
  encodeAuditEvent,
  encodeExecRequest,
  encodeExecResult,
  encodeHeartbeat,
  encodeInventory,
  encodeKillCommand,
  encodeObsEvent,
  encodeRunEvent,
  parseAgentState,
  parseAuditEvent,
  parseExecRequest,
  parseExecResult,
  parseHeartbeat,
  parseInventory,
  parseKillCommand,
  parseObsEvent,
  parseRunEvent,
} from '../../src/wire/index.js';

type Path = readonly (string | number)[];

interface Invalid {
  /** What the case is about, for the test name. */
  what: string;
  path: Path;
  /** The value to put at `path`; `undefined` deletes the field. */
  value: unknown;
  /** Where the error points, when deeper than `path`; default `path`. */
  errorAt?: { path: Path; value: unknown };
}

interface Golden {
  name: string;
  /** Which shape of the message, when it has several goldens. */
  variant?: string;
  parse: (json: unknown) => unknown;
  encode: (msg: never) => Uint8Array;
  /** Canonical JSON: schema key order, defaults filled in. */
  json: string;
  /** Where to add an unknown field (an object inside the message, or [] for the top level). */
  extraAt: Path;
  invalid: readonly Invalid[];
}

const T = '2024-05-01T02:00:00Z';

const GOLDENS: readonly Golden[] = [
  {
    name: 'ExecRequest',
    parse: parseExecRequest,
    encode: encodeExecRequest,
    json: `{"v":1,"requestId":"01HWZ3N6Y8P0K6R5T4V3X2W1QA","execId":"01HWZ3N6Y8P0K6R5T4V3X2W1QB","jobId":"backup-nightly","jobVersion":"3","jobRevision":12,"trigger":{"kind":"schedule","actor":"scheduler","scheduleId":"nightly","fireAt":"${T}"},"script":{"kind":"inline","shell":"bash","body":"tar czf /backup/home.tgz /home"},"timeoutMs":600000,"jitterMs":30000,"deadlineAt":"2024-05-01T03:00:00Z","runAs":"system","cwd":"/var/tmp","env":{"LANG":"C"},"params":{"level":"full"},"target":{"kind":"group","group":"lab-a"},"createdAt":"2024-05-01T02:00:00.123Z","overlap":"skip"}`,
    extraAt: ['trigger'],
    invalid: [
      { what: 'bad timestamp', path: ['deadlineAt'], value: '2024-05-01 03:00' },
      { what: 'timestamp with offset', path: ['createdAt'], value: '2024-05-01T04:00:00+02:00' },
      { what: 'bad enum', path: ['script', 'shell'], value: 'zsh' },
      { what: 'bad discriminator', path: ['trigger', 'kind'], value: 'cron' },
      { what: 'missing field', path: ['jobRevision'], value: undefined },
      { what: 'bad job id', path: ['jobId'], value: 'Backup Nightly' },
      { what: 'bad request id', path: ['requestId'], value: 'a.b' },
      { what: 'negative jitter', path: ['jitterMs'], value: -1 },
      {
        what: 'bad sha256',
        path: ['script'],
        value: { kind: 'object', shell: 'sh', object: 'x', sha256: 'abc' },
        errorAt: { path: ['script', 'sha256'], value: 'abc' },
      },
    ],
  },
  {
    name: 'ExecResult',
    parse: parseExecResult,
    encode: encodeExecResult,
    json: `{"v":1,"resultId":"01HWZ3N6Y8P0K6R5T4V3X2W1QA.web-01","requestId":"01HWZ3N6Y8P0K6R5T4V3X2W1QA","execId":"01HWZ3N6Y8P0K6R5T4V3X2W1QB","pcId":"web-01","jobId":"backup-nightly","jobVersion":"3","status":"failed","exitCode":2,"stdout":{"bytes":6,"sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03","inline":{"encoding":"utf8","data":"hello\\n"}},"stderr":{"bytes":300000,"sha256":"c4df362c28b35af97787aace5b6c36d376f614bbbef70492fe95c7a6cb4235a5","object":{"bucket":"result_output","name":"01HWZ3N6Y8P0K6R5T4V3X2W1QA/web-01/stderr"}},"startedAt":"2024-05-01T02:00:31Z","finishedAt":"2024-05-01T02:01:02.5Z","durationMs":31500}`,
    extraAt: ['stdout', 'inline'],
    invalid: [
      { what: 'bad timestamp', path: ['finishedAt'], value: 'yesterday' },
      { what: 'bad enum', path: ['status'], value: 'crashed' },
      { what: 'missing field', path: ['stderr'], value: undefined },
      { what: 'fractional exit code', path: ['exitCode'], value: 1.5 },
      { what: 'bytes not matching inline data', path: ['stdout', 'bytes'], value: 7 },
      { what: 'bad reason', path: ['reason'], value: 'Deadline Passed' },
    ],
  },
  {
    name: 'RunEvent',
    parse: parseRunEvent,
    encode: encodeRunEvent,
    json: `{"v":1,"id":"01HWZ3N6Y8P0K6R5T4V3X2W1QA.web-01.skipped","at":"${T}","pcId":"web-01","requestId":"01HWZ3N6Y8P0K6R5T4V3X2W1QA","execId":"01HWZ3N6Y8P0K6R5T4V3X2W1QB","jobId":"backup-nightly","kind":"skipped","reason":"revoked"}`,
    extraAt: [],
    invalid: [
      { what: 'bad timestamp', path: ['at'], value: '2024-13-01T00:00:00Z' },
      { what: 'bad enum', path: ['kind'], value: 'finished' },
      { what: 'missing field', path: ['execId'], value: undefined },
      { what: 'reserved pc id', path: ['pcId'], value: 'all' },
    ],
  },
  {
    name: 'Heartbeat',
    parse: parseHeartbeat,
    encode: encodeHeartbeat,
    json: `{"v":1,"pcId":"DESKTOP-7F3K2","hostname":"desktop-7f3k2.corp.example","os":"win32","arch":"x64","agentVersion":"0.1.0","groups":["lab-a","windows"],"startedAt":"2024-05-01T01:00:00Z","running":[{"requestId":"01HWZ3N6Y8P0K6R5T4V3X2W1QA","execId":"01HWZ3N6Y8P0K6R5T4V3X2W1QB","jobId":"backup-nightly","startedAt":"${T}"}],"at":"2024-05-01T02:00:15Z","seq":61}`,
    extraAt: ['running', 0],
    invalid: [
      { what: 'bad timestamp', path: ['running', 0, 'startedAt'], value: '02:00' },
      { what: 'bad group', path: ['groups', 1], value: 'lab b' },
      { what: 'missing field', path: ['agentVersion'], value: undefined },
    ],
  },
  {
    name: 'AgentState',
    parse: parseAgentState,
    encode: encodeAgentState,
    json: `{"v":1,"pcId":"web-01","hostname":"web-01","os":"linux","arch":"arm64","agentVersion":"0.1.0","groups":[],"startedAt":"2024-05-01T01:00:00Z","running":[],"lastSeenAt":"${T}"}`,
    extraAt: [],
    invalid: [
      { what: 'bad timestamp', path: ['lastSeenAt'], value: 1714528800000 },
      { what: 'bad version', path: ['v'], value: 2 },
      { what: 'missing field', path: ['hostname'], value: undefined },
    ],
  },
  {
    name: 'ObsEvent',
    parse: parseObsEvent,
    encode: encodeObsEvent,
    json: `{"v":1,"id":"01HWZ3N6Y8P0K6R5T4V3X2W1QC","pcId":"web-01","at":"${T}","kind":"logon","source":"agent","payload":{"user":"CORP\\\\alice","session":2,"interactive":true}}`,
    extraAt: [],
    invalid: [
      { what: 'bad timestamp', path: ['at'], value: '' },
      { what: 'bad enum', path: ['source'], value: 'user' },
      { what: 'missing field', path: ['kind'], value: undefined },
      { what: 'bad kind', path: ['kind'], value: 'Agent-Online' },
    ],
  },
  {
    name: 'Inventory',
    parse: parseInventory,
    encode: encodeInventory,
    json: `{"v":1,"id":"01HWZ3N6Y8P0K6R5T4V3X2W1QD","pcId":"web-01","at":"${T}","source":"job","jobId":"collect-software","data":{"software":[{"name":"7-Zip","version":"23.01"}],"ramBytes":17179869184}}`,
    extraAt: [],
    invalid: [
      { what: 'bad timestamp', path: ['at'], value: '2024-05-01T02:00:00' },
      { what: 'bad enum', path: ['source'], value: 'wmi' },
      { what: 'missing field', path: ['data'], value: undefined },
      { what: 'job source without job id', path: ['jobId'], value: undefined },
    ],
  },
  {
    name: 'AuditEvent',
    parse: parseAuditEvent,
    encode: encodeAuditEvent,
    json: `{"v":1,"id":"01HWZ3N6Y8P0K6R5T4V3X2W1QE","at":"${T}","actor":{"kind":"user","name":"alice"},"action":"job.create","target":{"kind":"job","id":"backup-nightly"},"revisionBefore":null,"revisionAfter":12,"source":{"via":"apply","file":"jobs/backup-nightly.yaml","gitCommit":"9fceb02"},"summary":"created job backup-nightly (version 3)","details":{"version":"3"}}`,
    extraAt: ['source'],
    invalid: [
      { what: 'bad timestamp', path: ['at'], value: 'now' },
      { what: 'bad enum', path: ['actor', 'kind'], value: 'robot' },
      { what: 'missing field', path: ['revisionBefore'], value: undefined },
      { what: 'bad action', path: ['action'], value: 'Job.Create' },
      { what: 'multi-line summary', path: ['summary'], value: 'created\njob' },
      { what: 'zero revision', path: ['revisionAfter'], value: 0 },
    ],
  },
  {
    name: 'ExecRequest',
    variant: 'script object and packages',
    parse: parseExecRequest,
    encode: encodeExecRequest,
    json: `{"v":1,"requestId":"01HWZ3N6Y8P0K6R5T4V3X2W1QA","execId":"01HWZ3N6Y8P0K6R5T4V3X2W1QB","jobId":"install-tool","jobVersion":"2","jobRevision":3,"trigger":{"kind":"adhoc","actor":"alice"},"script":{"kind":"object","shell":"sh","object":"install/2.0.0","sha256":"9ab1f0c14956a7a541b1702be5513b21415c2f42e828bb9cba3eb28114470111"},"timeoutMs":60000,"jitterMs":0,"deadlineAt":"2024-05-01T03:00:00Z","runAs":"system","env":{},"target":{"kind":"all"},"createdAt":"${T}","packages":[{"object":"tool-cli/2.1","sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03","size":314572800,"file":"tool-cli-2.1.tar.gz"}]}`,
    extraAt: ['packages', 0],
    invalid: [
      { what: 'bad package reference', path: ['packages', 0, 'object'], value: 'tool-cli' },
      { what: 'bad package sha256', path: ['packages', 0, 'sha256'], value: 'ABC' },
      { what: 'package file name with a separator', path: ['packages', 0, 'file'], value: '../evil.sh' },
      { what: 'negative package size', path: ['packages', 0, 'size'], value: -1 },
    ],
  },
];

/** A deep copy of `msg` with `value` set at `path` (deleted when `undefined`). */
function withValue(msg: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(msg) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path.at(-1);
  assert.notEqual(last, undefined, 'path must not be empty');
  if (value === undefined) delete parent[last as string | number];
  else parent[last as string | number] = value;
  return copy;
}

function formatPath(path: Path): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

for (const golden of GOLDENS) {
  describe(`wire ${golden.name}${golden.variant ? ` (${golden.variant})` : ''}`, () => {
    const msg = JSON.parse(golden.json) as unknown;

    it('parses the golden and re-encodes it byte for byte', () => {
      const parsed = golden.parse(msg);
      assert.equal(text(golden.encode(parsed as never)), golden.json);
    });

    it('parses the raw payload bytes and string as well', () => {
      assert.deepEqual(golden.parse(new TextEncoder().encode(golden.json)), golden.parse(msg));
      assert.deepEqual(golden.parse(golden.json), golden.parse(msg));
    });

    it('reader accepts and drops an unknown field; writer rejects it', () => {
      const extraPath = [...golden.extraAt, 'addedInV1_1'];
      const future = withValue(msg, extraPath, { nested: true });
      assert.deepEqual(golden.parse(future), golden.parse(msg));
      assert.throws(
        () => golden.encode(future as never),
        (err: unknown) =>
          err instanceof WireError &&
          err.message.includes(`${formatPath(extraPath)}: unknown field`) &&
          err.path === formatPath(extraPath),
      );
    });

    for (const bad of golden.invalid) {
      it(`rejects ${bad.what} at ${formatPath(bad.path)}`, () => {
        const input = withValue(msg, bad.path, bad.value);
        const at = bad.errorAt ?? { path: bad.path, value: bad.value };
        for (const run of [() => golden.parse(input), () => golden.encode(input as never)]) {
          assert.throws(run, (err: unknown) => {
            assert.ok(err instanceof WireError, `expected WireError, got ${String(err)}`);
            assert.match(err.message, new RegExp(`^invalid ${golden.name}: `));
            assert.ok(err.message.includes(`${formatPath(at.path)}: `), `path missing in: ${err.message}`);
            const quoted = at.value === undefined ? 'required field is missing' : JSON.stringify(at.value);
            assert.ok(err.message.includes(quoted), `value ${quoted} missing in: ${err.message}`);
            assert.equal(err.path, formatPath(at.path));
            return true;
          });
        }
      });
    }
  });
}

describe('wire message defaults and edge cases', () => {
  it('fills defaults on read: jitterMs 0, env {}, payload {}, groups and running []', () => {
    const request = JSON.parse(GOLDENS[0]?.json ?? '') as Record<string, unknown>;
    delete request['jitterMs'];
    delete request['env'];
    const parsed = parseExecRequest(request);
    assert.equal(parsed.jitterMs, 0);
    assert.deepEqual(parsed.env, {});

    const obs = parseObsEvent({ v: 1, id: 'x1', pcId: 'web-01', at: T, kind: 'boot', source: 'agent' });
    assert.deepEqual(obs.payload, {});

    const state = parseAgentState({
      v: 1,
      pcId: 'web-01',
      hostname: 'web-01',
      os: 'linux',
      arch: 'x64',
      agentVersion: '0.1.0',
      startedAt: T,
      lastSeenAt: T,
    });
    assert.deepEqual([state.groups, state.running], [[], []]);
  });

  it('rejects a newer wire version with a clear message', () => {
    assert.throws(
      () => parseRunEvent({ ...(JSON.parse(GOLDENS[2]?.json ?? '') as object), v: 2 }),
      /invalid RunEvent: v: unsupported wire version; this build reads and writes v1; got 2/,
    );
  });

  it('reports a payload that is not JSON or not UTF-8', () => {
    assert.throws(() => parseExecResult('{"v":1'), /invalid ExecResult: payload is not JSON: "\{\\"v\\":1"/);
    assert.throws(() => parseExecResult(new Uint8Array([0x7b, 0xff, 0x7d])), /payload is not valid UTF-8/);
    assert.throws(() => parseExecResult(null), /invalid ExecResult: \(message\): .*got null/);
  });

  it('reads kill commands; JSON that is not one (null, a number, a dotted id) is a WireError', () => {
    assert.deepEqual(parseKillCommand('{"execId":"E1","extra":1}'), { execId: 'E1' });
    assert.deepEqual(parseKillCommand(encodeKillCommand({ requestId: 'R1' })), { requestId: 'R1' });
    for (const bad of ['null', '5', '"E1"', '[]', '{"execId":null}', '{"execId":"a.b"}', ''])
      assert.throws(
        () => parseKillCommand(bad),
        (e) => e instanceof WireError && /invalid KillCommand/.test(e.message),
        bad,
      );
  });

  it('writers reject values JSON cannot carry inside payloads', () => {
    const obs = { v: 1, id: 'x1', pcId: 'web-01', at: T, kind: 'boot', source: 'agent' } as const;
    assert.throws(
      () => encodeObsEvent({ ...obs, payload: { when: new Date(0) as never } }),
      (err: unknown) => err instanceof WireError && err.path === 'payload.when',
    );
  });

  it('quotes a bad env key, not its value', () => {
    const request = JSON.parse(GOLDENS[0]?.json ?? '') as Record<string, unknown>;
    assert.throws(
      () => parseExecRequest({ ...request, env: { 'A=B': 'x' } }),
      /env\["A=B"\]: invalid key "A=B": must be a non-empty name without '=' or NUL/,
    );
  });

  it('refuses a timeout or jitter longer than a timer can wait (it would fire at once)', () => {
    const request = JSON.parse(GOLDENS[0]?.json ?? '') as Record<string, unknown>;
    assert.throws(
      () => parseExecRequest({ ...request, timeoutMs: 2 ** 31 }),
      /timeoutMs.*at most 2147483647 ms/,
    );
    assert.throws(
      () => parseExecRequest({ ...request, jitterMs: 30 * 86_400_000 }),
      /jitterMs.*at most 2147483647 ms/,
    );
    assert.equal(parseExecRequest({ ...request, timeoutMs: 2 ** 31 - 1 }).timeoutMs, 2 ** 31 - 1);
  });

  it('names what each branch of a nullable field expected', () => {
    const result = JSON.parse(GOLDENS[1]?.json ?? '') as Record<string, unknown>;
    assert.throws(
      () => parseExecResult({ ...result, exitCode: 'x' }),
      /exitCode: must be an integer or null; got "x"/,
    );
  });

  it('requires the schedule fields on a schedule trigger, not on an ad-hoc one', () => {
    const request = JSON.parse(GOLDENS[0]?.json ?? '') as Record<string, unknown>;
    const adhoc = parseExecRequest({ ...request, trigger: { kind: 'adhoc', actor: 'alice' } });
    assert.deepEqual(adhoc.trigger, { kind: 'adhoc', actor: 'alice' });
    assert.throws(
      () => parseExecRequest({ ...request, trigger: { kind: 'schedule', actor: 'scheduler' } }),
      /trigger\.scheduleId: required field is missing/,
    );
  });
});
