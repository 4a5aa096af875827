// The SPA in real Chromium against a real stack: nats-server (test harness), the backend with its
// projection (the composition `baton backend` runs), and an in-process agent. It walks what an
// operator does: log in, write a job in the editor (a validation issue shown at its line, then
// saved with its comments), run it on the agent, watch the execution reach `ok` without
// reloading, open the result, and read the agent's timeline. Screenshots of the main pages are
// written on the way (see test/helpers/browser.ts for where).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BrowserContext, Page } from 'playwright-core';
import { composeBackend, type ComposedBackend } from '../../src/cli/backend-command.js';
import { AuthStore, JobStore } from '../../src/kv/index.js';
import {
  WIRE_VERSION,
  encodeInventory,
  encodeObsEvent,
  inventorySubject,
  newId,
  obsSubject,
  parseManifestFile,
} from '../../src/wire/index.js';
import { projectRoot } from '../../src/shared/paths.js';
import { silentLogger } from '../../src/shared/logger.js';
import { launchChromium, screenshotDir, type TestBrowser } from '../helpers/browser.js';
import { startAgent } from '../helpers/fleet.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const PC = 'browser-pc';
const PASSWORD = 'correct horse battery staple';
const JOB_YAML = `# Greets from the endpoint. This comment must survive the save.
kind: job
id: greet
version: 1.0.0
description: Say hello, slowly enough to watch
execute:
  shell: sh
  script: |
    echo "hello from $(hostname)"   # inline comment kept too
    sleep 1
    echo "done"
  timeout: 30s
`;
const UI_MS = 15_000;

describe('web UI in Chromium', { timeout: 180_000 }, () => {
  let stack: TestStack;
  let nc: NatsConnection;
  let agent: Awaited<ReturnType<typeof startAgent>>;
  let composed: ComposedBackend;
  let dataDir: string;
  let chrome: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let shots: string;
  const webDir = join(projectRoot(), 'dist', 'web');

  const shot = async (name: string) => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
  };
  const go = async (hash: string) => {
    await page.goto(`${composed.backend.url}/#${hash}`);
  };
  const heading = (text: string | RegExp) =>
    page.locator('main h1').filter({ hasText: text }).waitFor({ timeout: UI_MS });

  before(async () => {
    assert.ok(existsSync(join(webDir, 'index.html')), 'dist/web is built (npm run build)');
    stack = await startStack();
    nc = await stack.server.connect('browser-test');
    dataDir = await mkdtemp(join(tmpdir(), 'baton-web-'));
    await (await AuthStore.open(nc)).createUser({ name: 'ada', role: 'admin', password: PASSWORD }, 'test');
    agent = await startAgent(stack.server.url, PC);
    composed = await composeBackend(nc, {
      dbPath: join(dataDir, 'backend.db'),
      instance: 'browser',
      port: 0,
      webDir,
      logger: silentLogger,
    });
    shots = screenshotDir(projectRoot());
    await mkdir(shots, { recursive: true });
    chrome = await launchChromium();
    context = await chrome.browser.newContext({
      viewport: { width: 1360, height: 860 },
      colorScheme: 'light',
    });
    page = await context.newPage();
    page.setDefaultTimeout(UI_MS);
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    await chrome?.close();
    await composed?.stop();
    await agent?.stop();
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('login: a wrong password is refused, the right one opens the dashboard', async () => {
    await go('/dashboard');
    await page.waitForSelector('form[aria-label="log in"]');
    await shot('login');
    await page.fill('input[name=username]', 'ada');
    await page.fill('input[name=password]', 'wrong password');
    await page.click('button[type=submit]');
    await page.waitForSelector('.error-box:has-text("wrong user name or password")');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await heading('Dashboard');
    // The agent is online on the dashboard (from the backend's projection of agents_state).
    await page.waitForSelector('[data-testid=agents-online]:text-is("1")');
    await page.waitForSelector('.live-live');
  });

  test('job editor: a validation issue is shown at its line; saving keeps the YAML with its comments', async () => {
    await go('/jobs/_new');
    await heading('New job');
    const editor = page.locator('textarea[aria-label="job YAML"]');
    // 'retires' is a typo the server locates at its line, 5.
    await editor.fill(JOB_YAML.replace('description:', 'retires: 3\ndescription:'));
    await page.waitForSelector('ul.issues li');
    const issue = await page.locator('ul.issues li').first().innerText();
    assert.match(issue, /line 5/, issue);
    assert.match(issue, /retires/, issue);
    assert.equal(await page.locator('.gutter .ln.has-issue').innerText(), '5');
    await shot('job-editor-issue');

    await editor.fill(JOB_YAML);
    await page.waitForSelector('ul.issues', { state: 'detached' });
    await page.click('button:has-text("Create job")');
    await heading(/job\s+greet/);
    await page.waitForSelector('ol.receipts li:has-text("job.create")');
    assert.equal(await editor.inputValue(), JOB_YAML);
    const stored = await page.evaluate(async () => {
      const r = await fetch('/api/jobs/greet');
      return ((await r.json()) as { yaml: string }).yaml;
    });
    assert.equal(stored, JOB_YAML, 'the YAML is stored byte for byte, comments included');
    await shot('job');
  });

  test('run on the agent: the execution reaches ok live, the result shows the output', async () => {
    await page.check('input[name=target][value=pc]', { force: true });
    await page.fill('input[name=target-value]', PC);
    await page.click('button:has-text("Run now")');
    await page.waitForURL(/#\/runs\/[^/]+$/);
    const status = page.locator('[data-testid=exec-status]');
    await status.waitFor();
    // The script sleeps 1 s: the page shows the execution before it is final, then the live
    // stream brings it to ok with no reload.
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await page.waitForSelector('[data-testid=exec-status][data-status=ok]', { timeout: 30_000 });
    assert.deepEqual(navigations, [], 'no reload or navigation while waiting');
    assert.match(await status.innerText(), /1 ok/);
    await page.waitForSelector(`tr[data-pc="${PC}"][data-state=ok]`);
    await page.waitForSelector('.group pre.preview:has-text("hello from")');
    await shot('execution');

    await page.click(`tr[data-pc="${PC}"] a:has-text("output")`);
    await page.waitForURL(/#\/results\//);
    await page.waitForSelector('pre.output-text:has-text("hello from")');
    const out = await page.locator('pre.output-text').innerText();
    assert.match(out, /hello from .*\n.*done/s);
    await shot('result');

    await go('/runs');
    await heading('Activity');
    await page.waitForSelector('table[aria-label=executions] tr:has-text("greet")');
    await shot('activity');
  });

  test('run form: a job with parameters gets a typed field per declaration; the values reach the script', async () => {
    const yaml = [
      'kind: job',
      'id: rotate',
      'version: "1"',
      'params:',
      '  service: { type: enum, values: [nginx, postgres], required: true, description: which logs }',
      '  keep_days: { type: integer, min: 1, max: 90, default: 14 }',
      '  dry_run: { type: boolean, default: false }',
      'execute:',
      '  shell: sh',
      '  script: echo "svc=$BATON_PARAM_SERVICE keep=$BATON_PARAM_KEEP_DAYS dry=$BATON_PARAM_DRY_RUN"',
      '  timeout: 30s',
      '',
    ].join('\n');
    const job = parseManifestFile(yaml, 'rotate.yaml').jobs[0]!;
    await (
      await JobStore.open(nc)
    ).put(job.manifest, job.yaml, null, {
      actor: { kind: 'user', name: 'ada' },
      source: { via: 'apply' },
    });
    await go('/jobs/rotate');
    await page.waitForSelector('select[name=param-service]');
    assert.deepEqual(await page.locator('select[name=param-service] option').allInnerTexts(), [
      '—',
      'nginx',
      'postgres',
    ]);
    const days = page.locator('input[name=param-keep_days]');
    assert.equal(await days.getAttribute('type'), 'number');
    assert.equal(await days.getAttribute('max'), '90');
    await page.selectOption('select[name=param-service]', 'postgres');
    await days.fill('30');
    await page.check('input[name=param-dry_run]');
    await page.check('input[name=target][value=pc]', { force: true });
    await page.fill('input[name=target-value]', PC);
    await page.click('button:has-text("Run now")');
    await page.waitForURL(/#\/runs\/[^/]+$/);
    await page.waitForSelector('[data-testid=exec-status][data-status=ok]', { timeout: 30_000 });
    await page.waitForSelector('.group pre.preview:has-text("svc=postgres keep=30 dry=true")');
  });

  test("live output: a running script's output streams into its row on the execution page", async () => {
    const yaml = [
      'kind: job',
      'id: ticker',
      'version: "1"',
      'execute:',
      '  shell: sh',
      '  script: |',
      '    i=0; while [ $i -lt 40 ]; do echo "tick $i"; i=$((i+1)); sleep 0.25; done',
      '  timeout: 1m',
      '',
    ].join('\n');
    const job = parseManifestFile(yaml, 'ticker.yaml').jobs[0]!;
    await (
      await JobStore.open(nc)
    ).put(job.manifest, job.yaml, null, {
      actor: { kind: 'user', name: 'ada' },
      source: { via: 'apply' },
    });
    await go('/jobs/ticker');
    await page.check('input[name=target][value=pc]', { force: true });
    await page.fill('input[name=target-value]', PC);
    await page.click('button:has-text("Run now")');
    await page.waitForURL(/#\/runs\/[^/]+$/);
    await page.waitForSelector(`tr[data-pc="${PC}"][data-state=running] button:has-text("live")`, {
      timeout: 20_000,
    });
    await page.click(`tr[data-pc="${PC}"] button:has-text("live")`);
    // Lines printed after the panel connected keep arriving while the script still runs.
    const live = page.locator('[data-testid=live-output] pre');
    const ticks = async () =>
      [...(await live.innerText().catch(() => '')).matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
    const last = await waitFor(
      'live output lines',
      async () => {
        const t = await ticks();
        return t.length > 0 ? Math.max(...t) : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.ok(last < 39, 'the script was still running when its output showed');
    await page.waitForSelector(`[data-testid=live-output] pre:has-text("tick ${last + 1}")`);
    await page.waitForSelector('[data-testid=exec-status][data-status=ok]', { timeout: 30_000 });
  });

  test('agent page: presence, config with its sources, and the timeline with the run', async () => {
    // A job-emitted event gets its own lane.
    const id = newId();
    await jetstream(nc).publish(
      obsSubject(PC),
      encodeObsEvent({
        v: WIRE_VERSION,
        id,
        pcId: PC,
        at: new Date().toISOString(),
        kind: 'user_logon',
        source: 'job',
        payload: { user: 'grace' },
      }),
      { msgID: id },
    );
    await go(`/agents/${PC}`);
    await heading(new RegExp(`agent\\s+${PC}`));
    await page.waitForSelector('.presence.on');
    await page.waitForSelector('table[aria-label="effective config"] td');
    await page.click('button[aria-pressed]:has-text("15m")');
    await page.waitForSelector('svg.timeline g[data-lane=runs] rect.bar.st-ok');
    await page.waitForSelector('svg.timeline g[data-lane=presence] rect.bar.pr-online');
    await page.waitForSelector('svg.timeline g[data-lane=user_logon] circle.dot');
    const kinds = await page.locator('.endpoint-timeline table.data td span.kind').allInnerTexts();
    assert.ok(kinds.includes('run_finished'), `timeline kinds: ${kinds.join(', ')}`);
    assert.ok(kinds.includes('agent_online'), `timeline kinds: ${kinds.join(', ')}`);
    // Filtering by kind hides the others from the list and the picture.
    await page.uncheck('.kind-filter label:has-text("run_finished") input');
    await page.waitForSelector('svg.timeline g[data-lane=runs] rect.bar.st-ok', { state: 'detached' });
    await page.check('.kind-filter label:has-text("run_finished") input');
    await page.waitForSelector('svg.timeline g[data-lane=runs] rect.bar.st-ok');
    await shot('agent');
    await go(`/timeline/${PC}`);
    await page.waitForSelector('svg.timeline');
    await page.click('button[aria-pressed]:has-text("15m")');
    await page.waitForSelector('svg.timeline g[data-lane=runs] rect.bar');
    await shot('timeline');
  });

  test('agent page: the inventory of each source and its change history', async () => {
    // Two snapshots of an inventory job: nginx upgraded, redis installed, telnet removed.
    const snapshot = async (at: Date, data: Record<string, Record<string, string>>) => {
      const id = `inv.browser.${at.getTime()}`;
      const msg = encodeInventory({
        v: WIRE_VERSION,
        id,
        pcId: PC,
        at: at.toISOString(),
        source: 'job',
        jobId: 'software',
        data,
      });
      await jetstream(nc).publish(inventorySubject(PC), msg, { msgID: id });
    };
    const t0 = Date.now() - 60_000;
    await snapshot(new Date(t0), { packages: { nginx: '1.24.0', telnet: '0.17' } });
    await snapshot(new Date(t0 + 30_000), { packages: { nginx: '1.26.1', redis: '7.2.4' } });
    // The page reads the projection; wait until it holds both snapshots and the built-in one.
    await waitFor(
      'the projection to hold the inventory',
      async () => {
        const inv = await page.evaluate(async (pc) => {
          const r = await fetch(`/api/inventory/${pc}`);
          return (await r.json()) as { latest: { source: string }[]; history: unknown[] };
        }, PC);
        return inv.latest.length === 2 && inv.history.length >= 3;
      },
      { timeoutMs: UI_MS },
    );

    await go(`/agents/${PC}`);
    await heading(new RegExp(`agent\\s+${PC}`));
    // The agent's built-in snapshot first: its host facts as dotted fields.
    await page.click('[aria-label="inventory source"] button:has-text("builtin")');
    await page.waitForSelector('table[aria-label=inventory] tr[data-field="os.platform"]');
    await page.waitForSelector('table[aria-label=inventory] tr[data-field="memory.totalBytes"]');
    await page.click('[aria-label="inventory source"] button:has-text("job software")');
    const nginx = page.locator('table[aria-label=inventory] tr[data-field="packages.nginx"] td').nth(1);
    assert.equal(await nginx.innerText(), '1.26.1');
    const change = (field: string) =>
      page.locator(`table[aria-label="inventory changes"] tr[data-field="${field}"]`);
    assert.deepEqual(await change('packages.nginx').locator('td').allInnerTexts().then((t) => t.slice(1)), [
      'job software', 'changed', 'packages.nginx', '1.24.0', '1.26.1',
    ]); // prettier-ignore
    assert.equal(await change('packages.redis').getAttribute('data-change'), 'added');
    assert.equal(await change('packages.telnet').getAttribute('data-change'), 'removed');
    await page.locator('table[aria-label="inventory changes"]').scrollIntoViewIfNeeded();
    await shot('agent-inventory');
  });

  test('the other pages render: dashboard with the run, agents roster, jobs, audit, dark mode', async () => {
    await go('/dashboard');
    await heading('Dashboard');
    await page.waitForSelector('ul.hbars li:has-text("ok")');
    await shot('dashboard');
    await go('/agents');
    await page.waitForSelector(`table[aria-label=agents] tr[data-pc="${PC}"]`);
    await shot('agents');
    await go('/jobs');
    await page.waitForSelector('table[aria-label=jobs] a:has-text("greet")');
    await go('/audit');
    await page.waitForSelector('table[aria-label=receipts] td:has-text("job.create")');
    await page.waitForSelector('table[aria-label=receipts] td:has-text("run.start")');
    await shot('audit');
    // Keyboard: g then j goes to Jobs; the theme toggle switches to dark.
    await page.keyboard.press('g');
    await page.keyboard.press('j');
    await heading('Jobs');
    await page.click('button[aria-label="toggle dark mode"]');
    assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
    await go(`/runs`);
    await page.waitForSelector('table[aria-label=executions] tr:has-text("greet")');
    await shot('activity-dark');
  });

  test('with no choice made, the theme follows the system setting', async () => {
    for (const colorScheme of ['dark', 'light'] as const) {
      const ctx = await chrome.browser.newContext({ colorScheme });
      try {
        const p = await ctx.newPage();
        await p.goto(`${composed.backend.url}/`);
        await p.locator('html[data-theme]').waitFor({ state: 'attached' });
        assert.equal(await p.locator('html').getAttribute('data-theme'), colorScheme);
      } finally {
        await ctx.close();
      }
    }
  });
});
