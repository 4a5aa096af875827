import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ensureTlsFiles } from '../shared/tls.js';
import { ensureNatsServer } from '../shared/nats-binary.js';
import {
  DEFAULT_LIMITS,
  ensureTopology,
  scaleLimits,
  topologyStatus,
  type TopologyOptions,
} from '../kv/index.js';
import { CliError, EXIT } from './exit-codes.js';
import { formatAge, formatBytes, formatTable, printJson } from './output.js';
import { action, globals, withNats } from './runtime.js';
import { registerKeyRevocation } from './identity-commands.js';

/** Topology options from flags, then BATON_REPLICAS / BATON_LIMIT_SCALE, then defaults. */
export function topologyOptions(
  flags: { replicas?: string; limitScale?: string },
  env = process.env,
): TopologyOptions {
  const num = (name: string, raw: string | undefined, fallback: number, integer: boolean) => {
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new CliError(
        `${name}: '${raw}' is not a ${integer ? 'positive whole number' : 'positive number'}`,
        EXIT.usage,
      );
    }
    return n;
  };
  const replicas = num('--replicas', flags.replicas ?? env['BATON_REPLICAS'], 1, true);
  if (![1, 3, 5].includes(replicas))
    throw new CliError(`--replicas: '${replicas}' is not allowed; use 1, 3 or 5`, EXIT.usage);
  const scale = num('--limit-scale', flags.limitScale ?? env['BATON_LIMIT_SCALE'], 1, false);
  return { replicas, limits: scale === 1 ? DEFAULT_LIMITS : scaleLimits(DEFAULT_LIMITS, scale) };
}

export function registerNatsCommands(program: Command): void {
  const nats = program.command('nats').description('the NATS server and the JetStream topology');
  registerKeyRevocation(nats);

  nats
    .command('install')
    .description('find nats-server >= 2.10 or fetch it from Debian into .cache/ (nothing system-wide)')
    .action(
      action(async function (this: Command) {
        const bin = await ensureNatsServer((line) => process.stderr.write(`${line}\n`));
        if (globals(this).json) printJson(bin);
        else console.log(`nats-server ${bin.version} at ${bin.path} (${bin.source})`);
      }),
    );

  nats
    .command('tls')
    .description('make a private CA and a nats-server certificate (openssl; kept if they exist)')
    .option('--dir <dir>', 'where the files go', '.baton/tls')
    .option('--host <names...>', 'DNS names and IP addresses the certificate is for', [
      'localhost',
      '127.0.0.1',
      '::1',
    ])
    .action(
      action(async function (this: Command, flags: { dir: string; host: string[] }) {
        const files = await ensureTlsFiles(resolve(flags.dir), flags.host);
        if (globals(this).json) return printJson(files);
        console.log(`CA certificate  ${files.caFile}   (give this to agents: --ca)`);
        console.log(`server cert     ${files.certFile}`);
        console.log(`server key      ${files.keyFile}`);
        console.log(`CA key          ${files.caKeyFile}   (keep it safe; only needed to issue certificates)`);
      }),
    );

  nats
    .command('setup')
    .description('create or reconcile every stream, KV bucket and object store (idempotent)')
    .option('--replicas <n>', 'replicas of every resource (1, 3 or 5); env BATON_REPLICAS')
    .option('--limit-scale <factor>', 'multiply every byte limit; env BATON_LIMIT_SCALE')
    .action(
      action(async function (this: Command, flags: { replicas?: string; limitScale?: string }) {
        const opts = topologyOptions(flags);
        const changes = await withNats(this, (nc) => ensureTopology(nc, opts));
        if (globals(this).json) return printJson(changes);
        console.log(
          formatTable(changes, [
            { header: 'KIND', value: (r) => r.kind },
            { header: 'NAME', value: (r) => r.name },
            { header: 'ACTION', value: (r) => r.action },
            { header: 'CHANGES', value: (r) => r.changes.join('; ') || '' },
          ]),
        );
        const count = (a: string) => changes.filter((c) => c.action === a).length;
        console.log(
          `\n${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged`,
        );
      }),
    );

  nats
    .command('status')
    .description('every resource with its usage against its limits')
    .action(
      action(async function (this: Command) {
        const rows = await withNats(this, (nc) => topologyStatus(nc));
        if (globals(this).json) printJson(rows);
        else {
          console.log(
            formatTable(rows, [
              { header: 'KIND', value: (r) => r.kind },
              { header: 'NAME', value: (r) => r.name },
              { header: 'MSGS', value: (r) => (r.exists ? r.messages : 'missing'), align: 'right' },
              { header: 'USED', value: (r) => formatBytes(r.bytes), align: 'right' },
              { header: 'LIMIT', value: (r) => formatBytes(r.maxBytes), align: 'right' },
              {
                header: 'USE%',
                value: (r) => (r.usedPercent === null ? '-' : `${r.usedPercent}%`),
                align: 'right',
              },
              { header: 'MAX AGE', value: (r) => formatAge(r.maxAgeMs) },
              { header: 'R', value: (r) => r.replicas, align: 'right' },
              { header: 'CONSUMERS', value: (r) => r.consumers, align: 'right' },
            ]),
          );
        }
        const missing = rows.filter((r) => !r.exists);
        if (missing.length > 0) {
          process.stderr.write(`baton: ${missing.length} resources missing; run \`baton nats setup\`\n`);
          return EXIT.failed;
        }
      }),
    );
}
