// `baton schedules ...` and `baton freeze ...`: schedules in the catalog (registered with
// `baton apply`) and the fleet-wide freeze of scheduled fires. These talk to NATS directly.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseDocument } from 'yaml';
import {
  cronClock,
  formatInZone,
  formatTarget,
  parseCron,
  parseDuration,
  parseManifestFile,
  parseSchedules,
  showDuration,
  type Schedule,
} from '../wire/index.js';
import { ScheduleStore, SchedulerState, isFrozen, publishAudit, type ScheduleRecord } from '../kv/index.js';
import { nextFire } from '../scheduler/index.js';
import { cliActor } from './actor.js';
import { CliError, EXIT } from './exit-codes.js';
import { formatTable, printJson } from './output.js';
import { action, globals, withNats } from './runtime.js';

/** The next `count` fire times after `after`, inside the active window. */
function upcoming(s: Schedule, after: Date, count: number): Date[] {
  const cron = cronClock(parseCron(s.cron), s.timezone);
  const out: Date[] = [];
  for (let t = nextFire(s, cron, after); t !== null && out.length < count; t = nextFire(s, cron, t))
    out.push(t);
  return out;
}

function summary(r: ScheduleRecord, now: Date) {
  const s = r.schedule;
  return {
    id: r.id,
    job: s.job,
    cron: s.cron,
    timezone: s.timezone,
    enabled: s.enabled,
    targets: s.targets.map(formatTarget),
    next: s.enabled ? (upcoming(s, now, 1)[0]?.toISOString() ?? null) : null,
    revision: r.revision,
    updatedAt: r.written.at,
    updatedBy: r.written.actor.name,
    via: r.written.via,
  };
}

/** Sets `enabled` in the stored YAML (comments kept) and writes it as a person's edit (CAS). */
async function setEnabled(nc: NatsConnection, cmd: Command, id: string, enabled: boolean) {
  const store = await ScheduleStore.open(nc);
  const current = await store.require(id);
  const verb = enabled ? 'enable' : 'disable';
  if (current.schedule.enabled === enabled) {
    if (globals(cmd).json) printJson({ id, enabled, changed: false, revision: current.revision });
    else console.log(`schedule ${id} is already ${enabled ? 'enabled' : 'disabled'}`);
    return;
  }
  const doc = parseDocument(current.yaml ?? '');
  doc.set('enabled', enabled);
  const yaml = doc.toString();
  const [parsed] = parseSchedules(parseManifestFile(yaml, `schedule ${id}`).others);
  if (!parsed) throw new CliError(`schedule ${id}: its stored YAML holds no schedule`, EXIT.failed);
  const meta = { actor: cliActor(), source: { via: 'cli' as const } };
  const revision = await store.put(parsed.schedule, yaml, current.revision, meta);
  await publishAudit(nc, {
    ...meta,
    action: `schedule.${verb}`,
    target: { kind: 'schedule', id },
    revisionBefore: current.revision,
    revisionAfter: revision,
    summary: `${verb}d schedule ${id}`,
    details: { enabled },
  });
  if (globals(cmd).json)
    printJson({ id, enabled, changed: true, revisionBefore: current.revision, revision });
  else
    console.log(
      `schedule ${id}: ${enabled ? 'enabled' : 'disabled'} (revision ${current.revision} -> ${revision})`,
    );
}

/** `--until`: an RFC 3339 time, or a duration from now (`2h`). */
function parseUntil(text: string, now: Date): string {
  try {
    return new Date(now.getTime() + parseDuration(text)).toISOString();
  } catch {
    const t = Date.parse(text);
    if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(text)) {
      throw new CliError(
        `--until '${text}': expected an RFC 3339 time (2026-12-24T18:00:00Z) or a duration from now (2h, 3d)`,
        EXIT.usage,
      );
    }
    if (t <= now.getTime()) throw new CliError(`--until '${text}' is in the past`, EXIT.usage);
    return new Date(t).toISOString();
  }
}

export function registerScheduleCommands(program: Command): void {
  const schedules = program.command('schedules').description('schedules (register them with `baton apply`)');

  schedules.command('ls').description('list schedules with their next fire time')
    .action(action(async function (this: Command) {
      const now = new Date();
      const rows = await withNats(this, async (nc) => (await (await ScheduleStore.open(nc)).list()).map((r) => summary(r, now)));
      if (globals(this).json) return printJson(rows);
      console.log(formatTable(rows, [
        { header: 'SCHEDULE', value: (r) => r.id },
        { header: 'JOB', value: (r) => r.job },
        { header: 'CRON', value: (r) => r.cron },
        { header: 'ZONE', value: (r) => r.timezone },
        { header: 'ENABLED', value: (r) => (r.enabled ? 'yes' : 'no') },
        { header: 'NEXT (UTC)', value: (r) => r.next ?? '-' },
        { header: 'TARGETS', value: (r) => r.targets.join(' ') },
        { header: 'REV', value: (r) => r.revision, align: 'right' },
        { header: 'BY', value: (r) => `${r.updatedBy} (${r.via})` },
      ]));
    })); // prettier-ignore

  schedules.command('show <id>').description('one schedule; --yaml prints the YAML exactly as applied')
    .option('--yaml', 'print the verbatim YAML')
    .action(action(async function (this: Command, id: string, flags: { yaml?: boolean }) {
      const r = await withNats(this, async (nc) => (await ScheduleStore.open(nc)).require(id));
      if (flags.yaml) return void process.stdout.write(r.yaml ?? '');
      const sum = summary(r, new Date());
      if (globals(this).json) return printJson({ ...sum, schedule: r.schedule, written: r.written, yaml: r.yaml });
      const s = r.schedule;
      console.log([
        `schedule    ${r.id}${s.enabled ? '' : ' (disabled)'}`,
        `job         ${s.job}`,
        `cron        ${s.cron} (${s.timezone})`,
        `targets     ${sum.targets.join(' ')}`,
        `jitter      ${showDuration(s.jitterMs)}, starting deadline ${showDuration(s.startingDeadlineMs)}, overlap ${s.overlap}`,
        `catch-up    ${s.catchUp.policy} within ${showDuration(s.catchUp.windowMs)}`,
        ...(s.active.from || s.active.until ? [`active      ${s.active.from ?? '-'} .. ${s.active.until ?? '-'}`] : []),
        ...(Object.keys(s.params).length ? [`params      ${Object.entries(s.params).map(([k, v]) => `${k}=${v}`).join(' ')}`] : []),
        `next        ${sum.next ? formatInZone(new Date(sum.next), s.timezone) : '-'}`,
        `revision    ${r.revision}, written ${r.written.at} by ${r.written.actor.name} via ${r.written.via}${r.written.file ? ` from ${r.written.file}` : ''}`,
      ].join('\n'));
    })); // prettier-ignore

  schedules.command('preview <id>').description("next fire times in the schedule's zone and in UTC")
    .option('--count <n>', 'how many', '10')
    .action(action(async function (this: Command, id: string, flags: { count: string }) {
      const count = Number(flags.count);
      if (!Number.isInteger(count) || count < 1 || count > 1000) throw new CliError(`--count '${flags.count}': expected 1..1000`, EXIT.usage);
      const r = await withNats(this, async (nc) => (await ScheduleStore.open(nc)).require(id));
      const s = r.schedule;
      const times = upcoming(s, new Date(), count);
      const rows = times.map((t) => ({ utc: t.toISOString(), local: formatInZone(t, s.timezone) }));
      if (globals(this).json) return printJson({ id, timezone: s.timezone, enabled: s.enabled, fires: rows });
      if (!s.enabled) process.stderr.write(`baton: schedule ${id} is disabled; these are the times it would fire\n`);
      console.log(formatTable(rows, [
        { header: `LOCAL (${s.timezone})`, value: (x) => x.local },
        { header: 'UTC', value: (x) => x.utc },
      ]));
    })); // prettier-ignore

  schedules.command('enable <id>').description('let a schedule fire again (a person\'s edit)')
    .action(action(async function (this: Command, id: string) {
      await withNats(this, (nc) => setEnabled(nc, this, id, true));
    })); // prettier-ignore
  schedules.command('disable <id>').description('stop a schedule from firing (a person\'s edit; apply will not silently re-enable it)')
    .action(action(async function (this: Command, id: string) {
      await withNats(this, (nc) => setEnabled(nc, this, id, false));
    })); // prettier-ignore

  schedules.command('rm <id>').description('delete a schedule (the KV history keeps it)')
    .action(action(async function (this: Command, id: string) {
      await withNats(this, async (nc) => {
        const store = await ScheduleStore.open(nc);
        const r = await store.require(id);
        const tomb = await store.remove(id, r.revision);
        await (await SchedulerState.open(nc)).forget(id);
        await publishAudit(nc, {
          actor: cliActor(), action: 'schedule.delete', target: { kind: 'schedule', id },
          revisionBefore: r.revision, revisionAfter: null, source: { via: 'cli' },
          summary: `deleted schedule ${id} (job ${r.schedule.job})`,
          details: { tombstoneRevision: tomb, job: r.schedule.job },
        });
        if (globals(this).json) printJson({ id, deleted: true, revisionBefore: r.revision });
        else console.log(`schedule ${id}: deleted (revision ${r.revision} kept in history)`);
      });
    })); // prettier-ignore

  schedules.command('export <dir>').description("write every schedule's YAML, byte for byte, to <dir>/<id>.yaml")
    .action(action(async function (this: Command, dir: string) {
      const all = await withNats(this, async (nc) => (await ScheduleStore.open(nc)).list());
      await mkdir(dir, { recursive: true });
      const written: string[] = [];
      for (const r of all) {
        if (r.yaml === null) {
          process.stderr.write(`baton: schedule ${r.id} has no stored YAML; skipped\n`);
          continue;
        }
        const path = join(dir, `${r.id}.yaml`);
        await writeFile(path, r.yaml);
        written.push(path);
      }
      if (globals(this).json) printJson({ files: written });
      else console.log(`${written.length} schedules exported to ${dir}`);
    })); // prettier-ignore

  const freeze = program
    .command('freeze')
    .description('pause every scheduled fire fleet-wide (ad-hoc runs still allowed)');
  freeze.command('set').description('freeze scheduled fires until cleared or --until')
    .requiredOption('--reason <text>', 'why (shown in receipts and status)')
    .option('--until <time>', 'end: an RFC 3339 time or a duration from now (2h)')
    .action(action(async function (this: Command, flags: { reason: string; until?: string }) {
      const now = new Date();
      if (flags.reason.trim() === '') throw new CliError('--reason must not be empty', EXIT.usage);
      const until = flags.until === undefined ? null : parseUntil(flags.until, now);
      await withNats(this, async (nc) => {
        const st = await SchedulerState.open(nc);
        const { revision } = await st.freeze();
        const actor = cliActor();
        const state = { reason: flags.reason, until, setAt: now.toISOString(), setBy: actor.name };
        const [before, after] = await st.setFreeze(state, revision);
        await publishAudit(nc, {
          actor, action: 'freeze.set', target: { kind: 'freeze', id: 'fleet' },
          revisionBefore: before, revisionAfter: after, source: { via: 'cli' },
          summary: `froze scheduled fires ${until ? `until ${until}` : 'until cleared'}: ${flags.reason}`.slice(0, 300),
          details: state,
        });
        if (globals(this).json) printJson({ frozen: true, ...state, revision: after });
        else console.log(`scheduled fires frozen ${until ? `until ${until}` : 'until `baton freeze clear`'}`);
      });
    })); // prettier-ignore

  freeze.command('clear').description('resume scheduled fires')
    .action(action(async function (this: Command) {
      await withNats(this, async (nc) => {
        const st = await SchedulerState.open(nc);
        const { state, revision } = await st.freeze();
        if (!state || revision === null) {
          if (globals(this).json) printJson({ frozen: false, changed: false });
          else console.log('not frozen');
          return;
        }
        const tomb = await st.clearFreeze(revision);
        await publishAudit(nc, {
          actor: cliActor(), action: 'freeze.clear', target: { kind: 'freeze', id: 'fleet' },
          revisionBefore: revision, revisionAfter: null, source: { via: 'cli' },
          summary: `cleared the freeze set by ${state.setBy} (${state.reason})`.slice(0, 300),
          details: { previous: state, tombstoneRevision: tomb },
        });
        if (globals(this).json) printJson({ frozen: false, changed: true });
        else console.log('scheduled fires resumed');
      });
    })); // prettier-ignore

  freeze.command('status').description('is the fleet frozen?')
    .action(action(async function (this: Command) {
      const { state } = await withNats(this, async (nc) => (await SchedulerState.open(nc)).freeze());
      const frozen = isFrozen(state, new Date());
      if (globals(this).json) return printJson({ frozen, ...(state ?? {}) });
      if (!state) console.log('not frozen');
      else if (!frozen) console.log(`not frozen (the freeze by ${state.setBy} ended at ${state.until})`);
      else console.log(`frozen since ${state.setAt} by ${state.setBy} ${state.until ? `until ${state.until}` : 'until cleared'}: ${state.reason}`);
    })); // prettier-ignore
}
