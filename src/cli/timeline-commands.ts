// `baton agents ls|show` and `baton events <pc>`: the fleet and each endpoint's timeline, from the
// projection (read-only SQLite; see docs/cli.md).
import type { Command } from 'commander';
import { RUN_TIMELINE_KINDS, type AgentRow } from '../projector/index.js';
import { CliError, EXIT } from './exit-codes.js';
import { formatAge, formatTable, printJson } from './output.js';
import { parseSince, withReadModel } from './projection-db.js';
import { parseCount } from './flags.js';
import { action, globals } from './runtime.js';
import { registerIdentityCommands } from './identity-commands.js';

const DB_OPTION = ['--db <path>', 'the projection database (default <data dir>/baton.db)'] as const;

const ago = (at: string, now: number) => `${formatAge(now - Date.parse(at))} ago`;

export function registerTimelineCommands(program: Command): void {
  const agents = program
    .command('agents')
    .description('endpoints: online/offline, version, groups; enrollment and revocation');
  registerIdentityCommands(agents);
  agents
    .command('ls')
    .description('every agent that reported state')
    .option('--offline', 'only agents that are offline')
    .option(...DB_OPTION)
    .action(
      action(async function (this: Command, f: { offline?: boolean; db?: string }) {
        const now = Date.now();
        const rows = await withReadModel(f.db, (rm) =>
          rm.agents.list(now).filter((a) => !f.offline || !a.online),
        );
        if (globals(this).json) return printJson(rows);
        console.log(
          formatTable<AgentRow>(rows, [
            { header: 'PC', value: (a) => a.pcId },
            { header: 'STATE', value: (a) => (a.online ? 'online' : 'offline') },
            { header: 'VERSION', value: (a) => a.agentVersion },
            { header: 'OS', value: (a) => `${a.os}/${a.arch}` },
            { header: 'GROUPS', value: (a) => a.groups.join(',') || '-' },
            { header: 'LAST SEEN', value: (a) => ago(a.lastSeenAt, now) },
            { header: 'RUNNING', value: (a) => a.running.length, align: 'right' },
          ]),
        );
      }),
    );
  agents
    .command('show <pc-id>')
    .description('one agent, with its latest runs')
    .option(...DB_OPTION)
    .action(
      action(async function (this: Command, pcId: string, f: { db?: string }) {
        const now = Date.now();
        const { agent, recent } = await withReadModel(f.db, (rm) => ({
          agent: rm.agents.get(pcId, now),
          recent: rm.timeline.timeline(pcId, { kinds: ['run_finished'], limit: 10 }),
        }));
        if (!agent) throw new CliError(`no agent '${pcId}' in the projection`, EXIT.notFound);
        if (globals(this).json) return printJson({ ...agent, recentRuns: recent });
        console.log(
          `${agent.pcId}: ${agent.online ? 'online' : 'offline'} (last seen ${agent.lastSeenAt}, ${ago(agent.lastSeenAt, now)})`,
        );
        console.log(`  host      ${agent.hostname} ${agent.os}/${agent.arch}`);
        console.log(`  agent     ${agent.agentVersion}, started ${agent.startedAt}`);
        console.log(`  groups    ${agent.groups.join(', ') || '-'}`);
        console.log(`  running   ${agent.running.length}`);
        if (recent.length > 0) {
          console.log('\nlatest runs:');
          console.log(
            formatTable(recent, [
              { header: 'FINISHED', value: (e) => e.at },
              { header: 'JOB', value: (e) => String(e.details['jobId']) },
              { header: 'STATUS', value: (e) => String(e.details['status']) },
              { header: 'EXEC', value: (e) => String(e.details['execId']) },
              { header: 'RESULT', value: (e) => e.id },
            ]),
          );
        }
      }),
    );

  program
    .command('events <pc-id>')
    .description(
      `an endpoint's timeline: online/offline, runs (${RUN_TIMELINE_KINDS.join(', ')}), job events`,
    )
    .option('--since <when>', "within a duration ('1h') or since an RFC 3339 time")
    .option('--kind <kinds>', 'only these kinds, comma separated')
    .option('--limit <n>', 'the newest n entries', '200')
    .option(...DB_OPTION)
    .action(
      action(async function (
        this: Command,
        pcId: string,
        f: { since?: string; kind?: string; limit: string; db?: string },
      ) {
        const filter = {
          since: parseSince(f.since),
          kinds: f.kind
            ?.split(',')
            .map((k) => k.trim())
            .filter(Boolean),
          limit: parseCount('--limit', f.limit),
        };
        const rows = await withReadModel(f.db, (rm) => rm.timeline.timeline(pcId, filter));
        if (globals(this).json) return printJson(rows);
        console.log(
          formatTable(rows, [
            { header: 'AT', value: (e) => e.at },
            { header: 'KIND', value: (e) => e.kind },
            { header: 'SOURCE', value: (e) => e.source },
            { header: 'DETAILS', value: (e) => summarize(e.details) },
          ]),
        );
      }),
    );
}

function summarize(d: Record<string, unknown>): string {
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}
