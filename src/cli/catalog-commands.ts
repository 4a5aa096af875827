// `baton apply`, `baton jobs ...`, `baton revoke|unrevoke`, `baton schema`: the job catalog.
// These talk to NATS directly, so they work without the backend.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  describeAllowed,
  formatBrokenSchedule,
  manifestJsonSchema,
  parseManifestFile,
  parseManifestFiles,
  parseSchedules,
  scheduleJsonSchema,
  type JobManifest,
  type ParamDecl,
} from '../wire/index.js';
import {
  JobStore,
  editJob,
  jobSummary,
  executeCatalogApply,
  planCatalogApply,
  publishAudit,
  type ApplyInput,
  type PlanItem,
  type ScheduleApplyInput,
  type SchedulePlanItem,
} from '../kv/index.js';
import { cliActor, fileOrigin } from './actor.js';
import { CliError, EXIT } from './exit-codes.js';
import { readManifestFiles } from './manifest-files.js';
import { formatTable, printJson } from './output.js';
import { action, globals, withNats } from './runtime.js';

type PlanRow = {
  kind: 'job' | 'schedule';
  id: string;
  action: string;
  file: string;
  revisionBefore: number | null;
  revision: number | null;
  changes: string[];
  revoked: boolean;
  reason: string | null;
  /** Schedules whose params the written job refuses (`schedule 'x': parameter 'y': ...`). */
  warnings: string[];
  /** Script objects and packages the job names that are not stored yet (`script hello/1`). */
  missingObjects: string[];
};

function planRow(p: PlanItem & { revision?: number | null }): PlanRow {
  return {
    kind: 'job',
    id: p.id,
    action: p.action,
    file: `${p.job.file}:${p.job.line}`,
    revisionBefore: p.baseRevision,
    revision: p.revision ?? null,
    changes: p.changes,
    revoked: p.revoked ?? false,
    reason: p.reason ?? null,
    warnings: p.action === 'refused' ? [] : (p.brokenSchedules ?? []).map(formatBrokenSchedule),
    missingObjects: p.missingObjects ?? [],
  };
}

function scheduleRow(p: SchedulePlanItem & { revision?: number | null }): PlanRow {
  return {
    kind: 'schedule',
    id: p.id,
    action: p.action,
    file: `${p.schedule.file}:${p.schedule.line}`,
    revisionBefore: p.baseRevision,
    revision: p.revision ?? null,
    changes: p.changes,
    revoked: false,
    reason: p.reason ?? null,
    warnings: [],
    missingObjects: [],
  };
}

/** The parameters of a job as `jobs show` lists them (table and --json). */
function paramRows(m: JobManifest) {
  return Object.entries(m.params ?? {}).map(([name, d]: [string, ParamDecl]) => ({
    name,
    env: `BATON_PARAM_${name.toUpperCase()}`,
    type: d.type,
    allowed: describeAllowed(d),
    required: d.required,
    default: d.default ?? null,
    description: d.description ?? null,
    declaration: d,
  }));
}

async function apply(cmd: Command, paths: string[], flags: { dryRun?: boolean; force?: boolean }) {
  const json = globals(cmd).json;
  const parsed = parseManifestFiles(await readManifestFiles(paths));
  const schedules = parseSchedules(parsed.others);
  if (parsed.jobs.length === 0 && schedules.length === 0)
    throw new CliError(`${paths.join(', ')}: no job or schedule documents found`, EXIT.usage);
  const inputs: ApplyInput[] = [];
  for (const j of parsed.jobs) inputs.push({ ...j, ...(await fileOrigin(j.file)) });
  const scheduleInputs: ScheduleApplyInput[] = [];
  for (const s of schedules) scheduleInputs.push({ ...s, ...(await fileOrigin(s.file)) });
  return withNats(cmd, async (nc) => {
    const catalogPlan = await planCatalogApply(
      nc,
      { jobs: inputs, schedules: scheduleInputs },
      { force: flags.force },
    );
    const { jobs: plan, schedules: schedulePlan, refused } = catalogPlan;
    const print = (rows: PlanRow[], title: string) => {
      // Warnings go to stderr in both modes: a forced breakage must not pass unnoticed.
      for (const r of rows)
        for (const w of r.warnings)
          process.stderr.write(`baton: warning: job '${r.id}' refuses the params of ${w}\n`);
      for (const r of rows)
        for (const m of r.missingObjects) {
          const [kind, ref] = m.split(' ');
          process.stderr.write(
            `baton: warning: job '${r.id}': ${kind} '${ref}' is not stored yet; runs of the job are refused until \`baton ${kind}s put ${ref} <file>\`\n`,
          );
        }
      if (json)
        return printJson({ dryRun: Boolean(flags.dryRun), applied: title === 'applied', objects: rows });
      console.log(
        formatTable(rows, [
          { header: 'KIND', value: (r) => r.kind },
          { header: 'ID', value: (r) => r.id },
          { header: 'ACTION', value: (r) => (r.revoked ? `${r.action} (revoked)` : r.action) },
          {
            header: 'REVISION',
            value: (r) =>
              (r.action === 'create' || r.action === 'update') && r.revision !== null
                ? `${r.revisionBefore ?? '-'} -> ${r.revision}`
                : (r.revisionBefore ?? '-'),
          },
          { header: 'FILE', value: (r) => r.file },
          { header: 'CHANGES', value: (r) => r.changes.join(', ') },
        ]),
      );
      for (const r of rows) if (r.reason) process.stderr.write(`baton: refused: ${r.reason}\n`);
      const n = (a: string) => rows.filter((r) => r.action === a).length;
      console.log(
        `\n${title}: ${n('create')} created, ${n('update')} updated, ${n('unchanged')} unchanged, ${n('refused')} refused`,
      );
    };
    const planned = [...plan.map(planRow), ...schedulePlan.map(scheduleRow)];
    if (refused.length > 0) {
      print(planned, 'nothing applied');
      return EXIT.conflict;
    }
    if (flags.dryRun) {
      print(planned, 'dry run, nothing written');
      return;
    }
    const meta = { actor: cliActor(), source: { via: 'apply' as const } };
    const results = await executeCatalogApply(nc, catalogPlan, meta);
    print([...results.jobs.map(planRow), ...results.schedules.map(scheduleRow)], 'applied');
  });
}

function openEditor(file: string): void {
  const editor = process.env['VISUAL'] || process.env['EDITOR'] || 'vi';
  const r = spawnSync(editor, [file], { stdio: 'inherit', shell: true });
  if (r.status !== 0)
    throw new CliError(
      `editor '${editor}' exited with ${r.status ?? r.signal}; nothing was changed`,
      EXIT.failed,
    );
}

async function edit(cmd: Command, id: string, flags: { file?: string; force?: boolean }) {
  return withNats(cmd, async (nc) => {
    const store = await JobStore.open(nc);
    const current = await store.require(id);
    let text: Uint8Array | string;
    let label: string;
    if (flags.file) {
      const [only] = await readManifestFiles([flags.file]);
      text = only!.text;
      label = flags.file;
    } else {
      const dir = await mkdtemp(join(tmpdir(), 'baton-edit-'));
      label = join(dir, `${id}.yaml`);
      await writeFile(label, current.yaml ?? '');
      try {
        openEditor(label);
        text = await readFile(label);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const { jobs, others } = parseManifestFile(text, label);
    if (jobs.length !== 1 || others.length > 0)
      throw new CliError(`${label}: must hold exactly one job document`, EXIT.usage);
    const job = jobs[0]!;
    if (job.manifest.id !== id) {
      throw new CliError(
        `${label}:${job.line}: id '${job.manifest.id}' does not match the job being edited ('${id}')`,
        EXIT.usage,
      );
    }
    if (job.yaml === current.yaml) {
      if (!globals(cmd).json) console.log(`job ${id}: no change (revision ${current.revision})`);
      else printJson({ id, changed: false, revision: current.revision });
      return;
    }
    // As in apply: refuse what newly breaks a schedule; report what was already broken.
    const { revision, receipt, broken } = await editJob(nc, {
      job,
      current,
      baseRevision: current.revision,
      force: flags.force,
      meta: { actor: cliActor(), source: { via: 'cli' } },
    });
    for (const w of broken) process.stderr.write(`baton: warning: job '${id}' refuses the params of ${w}\n`);
    if (globals(cmd).json)
      printJson({
        id,
        changed: true,
        revisionBefore: current.revision,
        revision,
        receiptId: receipt.id,
        warnings: broken,
      });
    else console.log(`job ${id}: revision ${current.revision} -> ${revision}`);
  });
}

async function setStatus(nc: NatsConnection, cmd: Command, id: string, status: 'ACTIVE' | 'REVOKED') {
  const store = await JobStore.open(nc);
  const job = await store.require(id);
  const verb = status === 'REVOKED' ? 'revoke' : 'unrevoke';
  if (job.status === status) {
    if (globals(cmd).json) printJson({ id, status, changed: false });
    else console.log(`job ${id} is already ${status}`);
    return;
  }
  const actor = cliActor();
  const [before, after] = await store.setStatus(id, status);
  await publishAudit(nc, {
    actor,
    action: `job.${verb}`,
    target: { kind: 'job', id },
    revisionBefore: before,
    revisionAfter: after,
    source: { via: 'cli' },
    summary: `${verb}d job ${id}`,
    details: { bucket: 'script_status', status },
  });
  if (globals(cmd).json) printJson({ id, status, changed: true, revisionBefore: before, revision: after });
  else console.log(`job ${id}: ${status}`);
}

export function registerCatalogCommands(program: Command): void {
  program
    .command('apply')
    .description(
      'register job manifests and schedules from files or folders; nothing is applied on any error',
    )
    .requiredOption('-f, --file <path...>', 'manifest files or folders (*.yaml, *.yml)')
    .option('--dry-run', 'show what would change, write nothing')
    .option('--force', 'overwrite objects edited by a person since the last apply, recreate deleted ones')
    .action(
      action(async function (this: Command, flags: { file: string[]; dryRun?: boolean; force?: boolean }) {
        return apply(this, flags.file, flags);
      }),
    );

  const jobs = program.command('jobs').description('the job catalog');
  jobs
    .command('ls')
    .description('list jobs')
    .action(
      action(async function (this: Command) {
        const rows = await withNats(this, async (nc) =>
          (await (await JobStore.open(nc)).list()).map(jobSummary),
        );
        if (globals(this).json) return printJson(rows);
        console.log(formatTable(rows, [
      { header: 'JOB', value: (r) => r.id },
      { header: 'VERSION', value: (r) => r.version },
      { header: 'STATUS', value: (r) => r.status },
      { header: 'REV', value: (r) => r.revision, align: 'right' },
      { header: 'UPDATED', value: (r) => r.updatedAt },
      { header: 'BY', value: (r) => `${r.updatedBy} (${r.via})` },
      { header: 'DESCRIPTION', value: (r) => r.description ?? '' },
    ])); // prettier-ignore
      }),
    );

  jobs
    .command('show <id>')
    .description('one job; --yaml prints the YAML exactly as applied')
    .option('--yaml', 'print the verbatim YAML')
    .action(
      action(async function (this: Command, id: string, flags: { yaml?: boolean }) {
        const job = await withNats(this, async (nc) => (await JobStore.open(nc)).require(id));
        if (flags.yaml) return void process.stdout.write(job.yaml ?? '');
        if (globals(this).json)
          return printJson({
            ...jobSummary(job),
            params: paramRows(job.manifest),
            manifest: job.manifest,
            written: job.written,
            yaml: job.yaml,
          });
        const m = job.manifest;
        console.log([
        `job         ${job.id}`,
        `version     ${m.version} (pinned ${job.pinnedVersion ?? '-'})`,
        `status      ${job.status}`,
        `revision    ${job.revision}, written ${job.written.at} by ${job.written.actor.name} via ${job.written.via}${job.written.file ? ` from ${job.written.file}` : ''}`,
        ...(m.description ? [`description ${m.description}`] : []),
        ...(m.tags.length ? [`tags        ${m.tags.join(', ')}`] : []),
        `shell       ${m.execute.shell}, timeout ${m.execute.timeoutMs / 1000}s, run as ${m.execute.runAs}${m.execute.cwd ? `, cwd ${m.execute.cwd}` : ''}`,
        ...(m.emit === 'events' ? ['stdout      emits timeline events (emit: events)'] : []),
        ...(m.inventory ? ['stdout      is the inventory snapshot (inventory: true)'] : []),
        ...(Object.keys(m.execute.env).length ? [`env         ${Object.entries(m.execute.env).map(([k, v]) => `${k}=${v}`).join(' ')}`] : []),
        ...(m.execute.packages?.length ? [`packages    ${m.execute.packages.join(', ')}`] : []),
        ...(m.execute.scriptObject !== undefined
          ? [`script      object ${m.execute.scriptObject} (\`baton scripts get ${m.execute.scriptObject}\`)`]
          : ['script:', ...(m.execute.script ?? '').trimEnd().split('\n').map((l) => `  ${l}`)]),
      ].join('\n')); // prettier-ignore
        const params = paramRows(m);
        if (params.length === 0) return;
        console.log(
          `\nparameters (the script reads BATON_PARAM_<NAME>; \`baton run ${job.id} --param name=value\`):`,
        );
        console.log(formatTable(params, [
          { header: 'NAME', value: (r) => r.name },
          { header: 'TYPE', value: (r) => r.type },
          { header: 'ALLOWED', value: (r) => r.allowed },
          { header: 'DEFAULT', value: (r) => (r.required ? '(required)' : (r.default ?? '-')) },
          { header: 'DESCRIPTION', value: (r) => r.description ?? '' },
        ])); // prettier-ignore
      }),
    );

  jobs.command('edit <id>').description('edit a job as a person (in $EDITOR, or from -f); compare-and-swap on its revision')
    .option('-f, --file <path>', 'take the new YAML from this file instead of opening an editor')
    .option('--force', "save even if the new params break a schedule's values (the breakage is reported)")
    .action(action(async function (this: Command, id: string, flags: { file?: string; force?: boolean }) {
      return edit(this, id, flags);
    })); // prettier-ignore

  jobs.command('rm <id>').description('delete a job: it is revoked, its version pin and history kept')
    .action(action(async function (this: Command, id: string) {
      await withNats(this, async (nc) => {
        const store = await JobStore.open(nc);
        const job = await store.require(id);
        const revision = await store.remove(id, job.revision);
        await publishAudit(nc, {
          actor: cliActor(), action: 'job.delete', target: { kind: 'job', id },
          revisionBefore: job.revision, revisionAfter: null, source: { via: 'cli' },
          summary: `deleted job ${id} (version ${job.manifest.version}; revoked, pin kept)`,
          details: { tombstoneRevision: revision, version: job.manifest.version },
        }); // prettier-ignore
        if (globals(this).json) printJson({ id, deleted: true, revisionBefore: job.revision });
        else console.log(`job ${id}: deleted (revoked; revision ${job.revision} kept in history)`);
      });
    })); // prettier-ignore

  jobs.command('export <dir>').description('write every job\'s YAML, byte for byte as applied, to <dir>/<id>.yaml')
    .action(action(async function (this: Command, dir: string) {
      const all = await withNats(this, async (nc) => (await JobStore.open(nc)).list());
      await mkdir(dir, { recursive: true });
      const written: string[] = [];
      for (const j of all) {
        if (j.yaml === null) {
          process.stderr.write(`baton: job ${j.id} has no stored YAML; skipped\n`);
          continue;
        }
        const path = join(dir, `${j.id}.yaml`);
        await writeFile(path, j.yaml);
        written.push(path);
      }
      if (globals(this).json) printJson({ files: written });
      else console.log(`${written.length} jobs exported to ${dir}`);
    })); // prettier-ignore

  program.command('revoke <id>').description('stop a job from running anywhere (agents skip it)')
    .action(action(async function (this: Command, id: string) {
      await withNats(this, (nc) => setStatus(nc, this, id, 'REVOKED'));
    })); // prettier-ignore
  program.command('unrevoke <id>').description('allow a revoked job to run again')
    .action(action(async function (this: Command, id: string) {
      await withNats(this, (nc) => setStatus(nc, this, id, 'ACTIVE'));
    })); // prettier-ignore

  program.command('schema <kind>').description("JSON Schema of a manifest kind ('job' or 'schedule') for editors")
    .action(action(async (kind: string) => {
      if (kind === 'schedule') return printJson(scheduleJsonSchema());
      if (kind !== 'job') throw new CliError(`schema: unknown kind '${kind}'; expected 'job' or 'schedule'`, EXIT.usage);
      printJson(manifestJsonSchema());
    })); // prettier-ignore
}
