// `baton scripts ...` and `baton packages ...`: script objects and app packages, named
// `<name>/<version>`. Uploads and downloads stream (a 1 GiB package needs no 1 GiB of memory);
// every put and removal publishes a receipt.
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ArtifactStore,
  putArtifact,
  removeArtifact,
  requireRef,
  type ArtifactInfo,
  type ArtifactKind,
} from '../kv/index.js';
import { cliActor } from './actor.js';
import { CliError, EXIT } from './exit-codes.js';
import { formatBytes, formatTable, printJson } from './output.js';
import { action, globals, withNats } from './runtime.js';

/** Largest script object: scripts are read into memory by the agent. */
export const MAX_SCRIPT_OBJECT_BYTES = 16 * 1024 * 1024;

const row = (i: ArtifactInfo) => ({
  ref: i.ref,
  name: i.name,
  version: i.version,
  size: i.size,
  sha256: i.sha256,
  file: i.file,
  storedAt: i.storedAt,
  revision: i.revision,
});

async function put(cmd: Command, kind: ArtifactKind, ref: string, path: string, force?: boolean) {
  requireRef(kind, ref);
  if (kind === 'script') {
    const size = (await stat(path).catch(() => null))?.size ?? 0;
    if (size > MAX_SCRIPT_OBJECT_BYTES)
      throw new CliError(
        `${path} is ${formatBytes(size)}; a script object may be at most ${formatBytes(MAX_SCRIPT_OBJECT_BYTES)} (ship larger files as a package)`,
        EXIT.usage,
      );
  }
  const r = await withNats(cmd, (nc) =>
    putArtifact(nc, {
      kind,
      ref,
      path,
      force: force ?? false,
      meta: { actor: cliActor(), source: { via: 'cli' } },
    }),
  );
  if (globals(cmd).json)
    return printJson({
      kind,
      action: r.action,
      ...row(r.info),
      revisionBefore: r.before?.revision ?? null,
      receiptId: r.receipt?.id ?? null,
    });
  console.log(
    `${kind} ${ref}: ${r.action}, ${formatBytes(r.info.size)} (${r.info.size} bytes), sha256 ${r.info.sha256}`,
  );
}

/** Writes `chunk`, waiting for 'drain' when the stream's buffer is full. */
async function writeAll(out: NodeJS.WritableStream, chunk: Uint8Array): Promise<void> {
  if (out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', done);
      out.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    out.once('drain', done);
    out.once('error', done);
  });
}

/** Streams an object to `dest` (`-`: stdout), verifying its sha256; a file appears only when it matches. */
async function download(nc: NatsConnection, kind: ArtifactKind, info: ArtifactInfo, dest: string) {
  const store = await ArtifactStore.open(nc, kind);
  const hash = createHash('sha256');
  let actual: string;
  if (dest === '-') {
    for await (const chunk of store.read(info)) {
      hash.update(chunk);
      await writeAll(process.stdout, chunk);
    }
    actual = hash.digest('hex');
  } else {
    const part = `${dest}.${randomBytes(6).toString('hex')}.part`;
    const out = await open(part, 'wx');
    try {
      for await (const chunk of store.read(info)) {
        hash.update(chunk);
        await out.write(chunk);
      }
      await out.close();
    } catch (err) {
      await out.close().catch(() => undefined);
      await rm(part, { force: true });
      throw err;
    }
    actual = hash.digest('hex');
    if (actual !== info.sha256) await rm(part, { force: true });
    else await rename(part, dest);
  }
  if (actual !== info.sha256)
    throw new CliError(
      `${kind} '${info.ref}': the downloaded bytes have sha256 ${actual}, expected ${info.sha256}${dest === '-' ? '' : '; nothing was saved'}`,
      EXIT.failed,
    );
}

async function get(
  cmd: Command,
  kind: ArtifactKind,
  ref: string,
  flags: { output?: string; force?: boolean },
) {
  requireRef(kind, ref);
  await withNats(cmd, async (nc) => {
    const info = await (await ArtifactStore.open(nc, kind)).require(ref);
    // Scripts print to stdout by default; packages are saved under their file name.
    const dest = flags.output ?? (kind === 'script' ? '-' : info.file);
    if (dest !== '-' && !flags.force && (await stat(dest).catch(() => null)))
      throw new CliError(`${dest} exists; pass --force to overwrite it, or -o another path`, EXIT.conflict);
    await download(nc, kind, info, dest);
    if (dest === '-') return;
    if (globals(cmd).json) printJson({ kind, ...row(info), savedTo: dest });
    else
      console.log(
        `${kind} ${ref}: saved to ${dest}, ${formatBytes(info.size)}, sha256 ${info.sha256} (verified)`,
      );
  });
}

async function list(cmd: Command, kind: ArtifactKind) {
  const items = await withNats(cmd, async (nc) => (await ArtifactStore.open(nc, kind)).list());
  if (globals(cmd).json) return printJson(items.map(row));
  console.log(formatTable(items, [
    { header: 'NAME', value: (r) => r.name },
    { header: 'VERSION', value: (r) => r.version },
    { header: 'SIZE', value: (r) => formatBytes(r.size), align: 'right' },
    { header: 'SHA256', value: (r) => r.sha256 },
    { header: 'FILE', value: (r) => r.file },
    { header: 'STORED', value: (r) => r.storedAt },
  ])); // prettier-ignore
}

async function remove(cmd: Command, kind: ArtifactKind, ref: string, force?: boolean) {
  const r = await withNats(cmd, (nc) =>
    removeArtifact(nc, {
      kind,
      ref,
      force: force ?? false,
      meta: { actor: cliActor(), source: { via: 'cli' } },
    }),
  );
  for (const id of r.usedBy)
    process.stderr.write(
      `baton: warning: job '${id}' still names ${kind} '${ref}'; its runs will be refused\n`,
    );
  if (globals(cmd).json)
    return printJson({ kind, removed: row(r.removed), receiptId: r.receipt.id, usedBy: r.usedBy });
  console.log(`${kind} ${ref}: removed (sha256 ${r.removed.sha256})`);
}

function register(program: Command, kind: ArtifactKind, noun: string, description: string): void {
  const group = program.command(noun).description(description);
  group
    .command('put <ref> <file>')
    .description(`store a file as ${kind} <name>/<version> (streamed); prints its size and sha256`)
    .option('--force', 'replace a version that exists with other content (runs that pinned it then refuse)')
    .action(action(async function (this: Command, ref: string, file: string, flags: { force?: boolean }) {
      await put(this, kind, ref, file, flags.force);
    })); // prettier-ignore
  group
    .command('get <ref>')
    .description(
      kind === 'script'
        ? 'print a script object (or save it with -o); its sha256 is verified'
        : 'download a package (streamed, sha256 verified) to its file name, or -o <path> (- for stdout)',
    )
    .option('-o, --output <path>', 'where to write it; - for stdout')
    .option('--force', 'overwrite an existing file')
    .action(action(async function (this: Command, ref: string, flags: { output?: string; force?: boolean }) {
      await get(this, kind, ref, flags);
    })); // prettier-ignore
  group
    .command('ls')
    .description(`every ${kind} with version, size and sha256`)
    .action(action(async function (this: Command) {
      await list(this, kind);
    })); // prettier-ignore
  group
    .command('rm <ref>')
    .description(`remove a ${kind}; refused while a job names it, unless --force`)
    .option('--force', 'remove it even though jobs name it (their runs are then refused)')
    .action(action(async function (this: Command, ref: string, flags: { force?: boolean }) {
      await remove(this, kind, ref, flags.force);
    })); // prettier-ignore
}

export function registerArtifactCommands(program: Command): void {
  register(program, 'script', 'scripts', 'script objects that jobs run with execute.script_object');
  register(program, 'package', 'packages', 'app packages that jobs fetch with execute.packages');
}
