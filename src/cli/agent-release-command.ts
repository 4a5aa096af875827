// `baton agent-release pack|put|ls`: agent builds in the `agent_releases` object store, which
// agents update to when their `target_version` config names one (docs/agents.md, "Self-update").
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AgentReleaseStore, publishAudit } from '../kv/index.js';
import { AgentReleaseVersion } from '../wire/index.js';
import { BundleError, inspectBundle, packBundle } from '../shared/agent-bundle.js';
import { packageVersion, projectRoot } from '../shared/paths.js';
import { cliActor } from './actor.js';
import { CliError, EXIT } from './exit-codes.js';
import { formatTable, printJson } from './output.js';
import { action, globals, withNats } from './runtime.js';

async function checkedBundle(file: string, version: string) {
  if (!existsSync(file)) throw new CliError(`bundle: '${file}' does not exist`, EXIT.usage);
  try {
    const info = await inspectBundle(file);
    if (info.version !== version)
      throw new CliError(
        `bundle: ${file} is version '${info.version}' (its package.json), not '${version}'`,
        EXIT.usage,
      );
    return info;
  } catch (err) {
    if (err instanceof BundleError) throw new CliError(`bundle: ${err.message}`, EXIT.usage, { cause: err });
    throw err;
  }
}

export function registerAgentReleaseCommands(program: Command): void {
  const rel = program
    .command('agent-release')
    .description('agent builds that agents update to (config key target_version)');
  rel
    .command('pack')
    .description("bundle this install's agent (package.json + dist/src) as a .tgz for put")
    .option('--out <file>', 'where to write it (default baton-agent-<version>.tgz)')
    .action(
      action(async function (this: Command, f: { out?: string }) {
        const root = projectRoot();
        const out = resolve(f.out ?? `baton-agent-${packageVersion(root)}.tgz`);
        const info = await packBundle(root, out);
        if (globals(this).json) printJson({ file: out, ...info });
        else console.log(`${out}: agent ${info.version}, ${info.entries} entries`);
      }),
    );
  rel
    .command('put <version> <bundle>')
    .description(
      'store a bundle (.tgz with package.json and dist/src) as an agent release (receipt release.put)',
    )
    .option('--force', 'replace an existing release of the same version (agents that failed it retry)')
    .action(
      action(async function (this: Command, version: string, bundle: string, f: { force?: boolean }) {
        if (!AgentReleaseVersion.safeParse(version).success)
          throw new CliError(
            `version: '${version}' ${AgentReleaseVersion.safeParse(version).error?.issues[0]?.message ?? 'is invalid'}`,
            EXIT.usage,
          );
        const file = resolve(bundle);
        await checkedBundle(file, version);
        await withNats(this, async (nc) => {
          const store = await AgentReleaseStore.open(nc);
          const { release, replaced } = await store.put(version, file, { replace: f.force ?? false });
          const receipt = await publishAudit(nc, {
            actor: cliActor(),
            action: 'release.put',
            target: { kind: 'agent_release', id: version },
            revisionBefore: replaced?.revision ?? null,
            revisionAfter: release.revision,
            source: { via: 'cli' },
            summary: `${replaced ? 'replaced' : 'put'} agent release ${version} (${release.bytes} bytes, sha256 ${release.sha256.slice(0, 12)}…)`,
            details: {
              sha256: release.sha256,
              bytes: release.bytes,
              ...(replaced ? { replacedSha256: replaced.sha256 } : {}),
            },
          });
          if (globals(this).json) printJson({ ...release, receiptId: receipt.id });
          else console.log(`agent release ${version}: ${release.bytes} bytes, sha256 ${release.sha256}`);
        });
      }),
    );
  rel
    .command('ls')
    .description('the stored agent releases, oldest first')
    .action(
      action(async function (this: Command) {
        const all = await withNats(this, async (nc) => (await AgentReleaseStore.open(nc)).list());
        if (globals(this).json) return printJson(all);
        console.log(
          formatTable(all, [
            { header: 'VERSION', value: (r) => r.version },
            { header: 'BYTES', value: (r) => String(r.bytes) },
            { header: 'SHA256', value: (r) => r.sha256 },
            { header: 'PUT AT', value: (r) => r.at },
          ]),
        );
      }),
    );
}
