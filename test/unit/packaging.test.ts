// The service definitions shipped in packaging/ (docs/agents.md, "Running as a service"): the
// systemd unit passes `systemd-analyze verify`, and both it and the launchd plist agree with the
// agent: they run `baton agent`, give it longer to stop than its scripts' stop grace, and treat
// exit 5 (the server refused the agent) as final where the service manager allows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { projectRoot } from '../../src/shared/paths.js';

const UNIT = join(projectRoot(), 'packaging', 'systemd', 'baton-agent.service');
const PLIST = join(projectRoot(), 'packaging', 'launchd', 'io.baton.agent.plist');

function unitValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) values.set(m[1]!, m[2]!);
  }
  return values;
}

test('the systemd unit runs baton agent and stops it within its stop grace', () => {
  const unit = unitValues(readFileSync(UNIT, 'utf8'));
  const exec = unit.get('ExecStart') ?? '';
  assert.match(exec, /\/dist\/src\/cli\/main\.js agent /);
  const grace = Number(/--stop-grace (\d+)/.exec(exec)?.[1]);
  assert.ok(grace > 0, 'ExecStart sets --stop-grace');
  assert.ok(Number(unit.get('TimeoutStopSec')) > grace, 'systemd waits longer than the scripts get');
  assert.equal(unit.get('KillMode'), 'mixed', 'SIGTERM to the agent only, so it can stop its scripts');
  assert.equal(unit.get('RestartPreventExitStatus'), String(EXIT.unavailable));
  assert.equal(unit.get('Restart'), 'always');
});

test('systemd-analyze verify accepts the unit', (t) => {
  const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  if (r.error) return t.skip(`systemd-analyze is not installed (${r.error.message})`);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stderr.includes('baton-agent.service'), r.stderr);
});

test('the launchd plist runs baton agent and waits longer than its stop grace', () => {
  const text = readFileSync(PLIST, 'utf8');
  // XML comments may not contain "--" (the flags' dashes): a plist with one does not load.
  for (const comment of text.match(/<!--[\s\S]*?-->/g) ?? [])
    assert.ok(!comment.slice(4, -3).includes('--'), `"--" inside an XML comment: ${comment}`);
  const args = [
    ...(/<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(text)?.[1] ?? '').matchAll(
      /<string>([^<]*)<\/string>/g,
    ),
  ].map((m) => m[1]!);
  assert.equal(args[1], '/opt/baton/dist/src/cli/main.js');
  assert.equal(args[2], 'agent');
  const grace = Number(args[args.indexOf('--stop-grace') + 1]);
  const exitTimeout = Number(/<key>ExitTimeOut<\/key>\s*<integer>(\d+)<\/integer>/.exec(text)?.[1]);
  assert.ok(grace > 0 && exitTimeout > grace, `ExitTimeOut ${exitTimeout} > --stop-grace ${grace}`);
  assert.match(text, /<key>Label<\/key>\s*<string>io\.baton\.agent<\/string>/);
});
