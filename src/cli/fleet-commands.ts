// `baton groups` and `baton config`: group memberships and layered agent config, with receipts.
import type { Command } from 'commander';
import { AgentConfigStore, AgentDirectory, publishAudit } from '../kv/index.js';
import {
  AGENT_CONFIG_DEFAULTS,
  AgentConfigLayer,
  GroupName,
  PcId,
  CONFIG_SCOPE_RULE,
  parseConfigScope,
  scopeKey,
  type AgentConfigKey,
  type ConfigScope,
} from '../wire/index.js';
import { cliActor } from './actor.js';
import { CliError, EXIT } from './exit-codes.js';
import { formatTable, printJson } from './output.js';
import { action, globals, withNats } from './runtime.js';

function parseScope(raw: string): ConfigScope {
  const scope = parseConfigScope(raw);
  if (!scope) throw new CliError(`scope: '${raw}' is not a scope; ${CONFIG_SCOPE_RULE}`, EXIT.usage);
  return scope;
}

const KEYS = Object.keys(AGENT_CONFIG_DEFAULTS) as AgentConfigKey[];

/** `key=value` with the value typed by the key; `key=` removes the key from the layer. */
function parseAssignment(raw: string): [AgentConfigKey, unknown] {
  const i = raw.indexOf('=');
  const key = raw.slice(0, i) as AgentConfigKey;
  if (i <= 0 || !KEYS.includes(key)) {
    throw new CliError(`'${raw}': expected key=value with key one of ${KEYS.join(', ')}`, EXIT.usage);
  }
  const value = raw.slice(i + 1);
  if (value === '') return [key, undefined];
  const typed: unknown =
    typeof AGENT_CONFIG_DEFAULTS[key] === 'number'
      ? Number(value)
      : typeof AGENT_CONFIG_DEFAULTS[key] === 'boolean'
        ? value === 'true'
          ? true
          : value === 'false'
            ? false
            : value
        : value;
  const check = AgentConfigLayer.safeParse({ [key]: typed });
  if (!check.success)
    throw new CliError(`${key}: '${value}' ${check.error.issues[0]?.message ?? 'is invalid'}`, EXIT.usage);
  return [key, typed];
}

export function registerFleetCommands(program: Command): void {
  const groups = program.command('groups').description('group memberships of endpoints');
  groups
    .command('set <pc-id> [groups...]')
    .description('set the groups of a pc (replaces them; none clears); its agent follows live')
    .action(action(async function (this: Command, pcId: string, names: string[]) {
      if (!PcId.safeParse(pcId).success) throw new CliError(`'${pcId}' is not a valid pc id`, EXIT.usage);
      for (const g of names) if (!GroupName.safeParse(g).success) throw new CliError(`'${g}' is not a valid group name (letters, digits, '_' and '-')`, EXIT.usage);
      await withNats(this, async (nc) => {
        const dir = await AgentDirectory.open(nc);
        const before = await dir.groupsOf(pcId);
        const after = await dir.setGroups(pcId, names, before.revision);
        const sorted = [...new Set(names)].sort();
        await publishAudit(nc, {
          actor: cliActor(), action: 'group.set', target: { kind: 'pc', id: pcId },
          revisionBefore: before.revision, revisionAfter: after, source: { via: 'cli' },
          summary: `set groups of ${pcId}: [${before.groups.join(', ')}] -> [${sorted.join(', ')}]`,
          details: { before: before.groups, after: sorted },
        }); // prettier-ignore
        if (globals(this).json) printJson({ pcId, groups: sorted, revision: after });
        else console.log(`${pcId}: ${sorted.join(', ') || '(no groups)'}`);
      });
    })); // prettier-ignore
  groups
    .command('ls')
    .description('every pc with its groups')
    .action(action(async function (this: Command) {
      const all = await withNats(this, async (nc) => (await AgentDirectory.open(nc)).allGroups());
      const rows = [...all.entries()].map(([pcId, g]) => ({ pcId, groups: g })).sort((a, b) => a.pcId.localeCompare(b.pcId));
      if (globals(this).json) return printJson(rows);
      console.log(formatTable(rows, [{ header: 'PC', value: (r) => r.pcId }, { header: 'GROUPS', value: (r) => r.groups.join(', ') }]));
    })); // prettier-ignore

  const config = program.command('config').description('layered agent config: global, group:<g>, pc:<id>');
  config
    .command('set <scope> <assignments...>')
    .description(`set keys of a layer (key= removes one); keys: ${KEYS.join(', ')}`)
    .action(action(async function (this: Command, rawScope: string, assignments: string[]) {
      const scope = parseScope(rawScope);
      const changes = Object.fromEntries(assignments.map(parseAssignment));
      await withNats(this, async (nc) => {
        const store = await AgentConfigStore.open(nc);
        const key = scopeKey(scope);
        const [before, after] = await store.update(key, changes);
        await publishAudit(nc, {
          actor: cliActor(), action: 'config.set', target: { kind: 'config', id: key },
          revisionBefore: before, revisionAfter: after, source: { via: 'cli' },
          summary: `set ${assignments.join(' ')} in ${key}`.slice(0, 300),
          details: { changes: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v === undefined ? null : (v as string | number | boolean)])) },
        }); // prettier-ignore
        if (globals(this).json) printJson({ scope: key, layer: (await store.layer(key)).layer, revision: after });
        else console.log(`${key}: ${JSON.stringify((await store.layer(key)).layer)}`);
      });
    })); // prettier-ignore
  config
    .command('get <scope>')
    .description('the keys set in one layer')
    .action(action(async function (this: Command, rawScope: string) {
      const key = scopeKey(parseScope(rawScope));
      const { layer, revision } = await withNats(this, async (nc) => (await AgentConfigStore.open(nc)).layer(key));
      if (globals(this).json) return printJson({ scope: key, layer, revision });
      console.log(Object.keys(layer).length ? Object.entries(layer).map(([k, v]) => `${k}=${String(v)}`).join('\n') : `${key}: nothing set`);
    })); // prettier-ignore
  config
    .command('effective <pc-id>')
    .description('the merged config of a pc, with the layer each value comes from')
    .action(action(async function (this: Command, pcId: string) {
      const eff = await withNats(this, async (nc) => {
        const { groups } = await (await AgentDirectory.open(nc)).groupsOf(pcId);
        return (await AgentConfigStore.open(nc)).effective(pcId, groups);
      });
      if (globals(this).json) return printJson({ pcId, values: eff.values, sources: eff.sources, invalid: eff.invalid });
      console.log(formatTable(KEYS.map((k) => ({ k, v: eff.values[k], s: eff.sources[k] })), [
        { header: 'KEY', value: (r) => r.k }, { header: 'VALUE', value: (r) => String(r.v) }, { header: 'FROM', value: (r) => r.s },
      ])); // prettier-ignore
      for (const bad of eff.invalid) process.stderr.write(`baton: layer ${bad.key} is invalid and ignored: ${bad.error}\n`);
    })); // prettier-ignore
}
