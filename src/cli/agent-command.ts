// `baton agent`: runs the endpoint agent in the foreground until SIGINT/SIGTERM. With `--enroll
// <token>` on first start it makes its own key pair, exchanges the token and its public key for its
// NATS credentials at the backend, and keeps them in `<data dir>/agent.creds` (0600); later starts
// use that file. By default it runs through the launcher (src/agent/launcher.ts), which runs the
// agent as its child (`baton agent --worker`) from the current release, for self-update;
// `--no-self-update` runs the agent in this process.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { createUser, decode, fmtCreds } from '@nats-io/jwt';
import { Agent, Launcher, type LauncherMessage } from '../agent/index.js';
import { PcId } from '../wire/index.js';
import { processLogger } from '../shared/process-logger.js';
import { packageVersion, projectRoot } from '../shared/paths.js';
import { CliError, EXIT } from './exit-codes.js';
import { action, connection, globals } from './runtime.js';

/** Where an enrolled agent keeps its credentials. */
export const AGENT_CREDS_FILE = 'agent.creds';

/** The pc id an agent's credentials were issued for (their `pc:<id>` tag), or null. */
export function credsPcId(credsFile: string): string | null {
  const jwt = /-----BEGIN NATS USER JWT-----\s*(\S+)/.exec(readFileSync(credsFile, 'utf8'))?.[1];
  if (!jwt) return null;
  const tags = decode<{ tags?: string[] }>(jwt).nats.tags ?? [];
  return tags.find((t) => t.startsWith('pc:'))?.slice(3) ?? null;
}

/**
 * Exchanges an enrollment token for credentials: the key pair is made here and the seed never
 * leaves this machine; the backend returns the user JWT for the public key. Returns the pc id the
 * token was made for.
 */
export async function enroll(apiUrl: string, token: string, credsFile: string): Promise<string> {
  const kp = createUser();
  let res: Response;
  try {
    res = await fetch(new URL('/api/enroll', apiUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, publicKey: kp.getPublicKey() }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CliError(`cannot reach the backend at ${apiUrl} to enroll: ${(err as Error).message}`, EXIT.unavailable, { cause: err });
  }
  const body = (await res.json().catch(() => ({}))) as { pcId?: string; jwt?: string; message?: string };
  if (!res.ok || !body.jwt || !body.pcId) {
    throw new CliError(`enrollment refused (${res.status}): ${body.message ?? 'no credentials in the answer'}`, EXIT.failed);
  }
  await writeFile(credsFile, fmtCreds(body.jwt, kp), { mode: 0o600 });
  return body.pcId;
} // prettier-ignore

/** The host name as a pc id: lower-cased, anything outside [A-Za-z0-9_-] replaced by '-'. */
export function defaultPcId(name = hostname()): string {
  const id =
    name
      .split('.')[0]!
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '') || 'pc';
  return id.slice(0, 128);
}

/** `--stop-grace`: whole seconds, 0 (kill at once) allowed. */
function stopGraceSeconds(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new CliError(`--stop-grace: '${raw}' is not a whole number of seconds (0 or more)`, EXIT.usage);
  return n;
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('run the endpoint agent (foreground; SIGTERM stops it gracefully)')
    .option('--pc-id <id>', "this endpoint's id (default: the host name)")
    .option('--data-dir <dir>', 'journal, outbox and work folders (default .baton/agent-<pc-id>)')
    .option('--enroll <token>', 'first start: exchange this enrollment token for credentials (needs --api)')
    .option('--stop-grace <seconds>', 'time running scripts get to finish on stop', '30')
    .option(
      '--no-self-update',
      'run the agent in this process, without the launcher; target_version is ignored',
    )
    .option('--health-timeout <seconds>', 'time a new release gets to start before it is rolled back', '60')
    .addOption(new Option('--worker', "the launcher's child (internal)").hideHelp())
    .addHelpText(
      'after',
      `\nCredentials: the global --creds <file>, else <data dir>/${AGENT_CREDS_FILE} when it exists (written by --enroll), else none.`,
    )
    .action(
      action(async function (
        this: Command,
        flags: {
          pcId?: string;
          dataDir?: string;
          enroll?: string;
          stopGrace: string;
          selfUpdate: boolean;
          healthTimeout: string;
          worker?: boolean;
        },
      ) {
        let pcId = flags.pcId ?? defaultPcId();
        if (!PcId.safeParse(pcId).success) {
          throw new CliError(
            `--pc-id: '${pcId}' is not a valid pc id (letters, digits, '_' and '-', max 128)`,
            EXIT.usage,
          );
        }
        const conn = connection(this);
        const dataDir = resolve(flags.dataDir ?? join('.baton', `agent-${pcId}`));
        await mkdir(dataDir, { recursive: true });
        // Not the context file's credentials: those are the operator's, never an agent's.
        let credsFile = globals(this).creds ?? null;
        const own = join(dataDir, AGENT_CREDS_FILE);
        if (!credsFile && flags.enroll && !existsSync(own)) {
          if (!conn.apiUrl)
            throw new CliError(
              '--enroll needs the backend URL: pass --api <url> or set BATON_API_URL',
              EXIT.usage,
            );
          const enrolledAs = await enroll(conn.apiUrl, flags.enroll, own);
          if (flags.pcId && enrolledAs !== flags.pcId)
            throw new CliError(`the token was made for '${enrolledAs}', not '${flags.pcId}'`, EXIT.usage);
          pcId = enrolledAs;
        }
        if (!credsFile && existsSync(own)) credsFile = own;
        // Credentials speak for one pc: run as that pc unless told otherwise (then the server decides).
        if (credsFile && !flags.pcId) pcId = credsPcId(credsFile) ?? pcId;
        const stopGraceMs = stopGraceSeconds(flags.stopGrace) * 1000;
        const healthTimeoutMs = wholeSeconds('--health-timeout', flags.healthTimeout, 1) * 1000;
        if (flags.selfUpdate && !flags.worker) {
          const launcher = new Launcher({
            dataDir,
            baseRoot: projectRoot(),
            // Everything resolved here goes to the child explicitly: it must not resolve differently.
            workerArgs: ['--server', conn.natsUrl, ...(credsFile ? ['--creds', resolve(credsFile)] : []), ...(conn.caFile ? ['--ca', resolve(conn.caFile)] : []),
              'agent', '--worker', '--pc-id', pcId, '--data-dir', dataDir, '--stop-grace', flags.stopGrace], // prettier-ignore
            healthTimeoutMs,
            stopTimeoutMs: stopGraceMs + 30_000,
            // A revoked agent (exit 5) is not restarted: the launcher ends with it.
            fatalExitCodes: [EXIT.unavailable],
            logger: processLogger('baton-agent-launcher', { pcId }),
          });
          const stop = () => void launcher.stop();
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
          const code = await launcher.run();
          if (code !== null) process.exitCode = code;
          return;
        }
        await runAgent({ pcId, servers: conn.natsUrl, dataDir, stopGraceMs, credsFile, caFile: conn.caFile, worker: flags.worker ?? false }); // prettier-ignore
      }),
    );
}

/** `--health-timeout`-style flags: whole seconds, at least `min`. */
function wholeSeconds(flag: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(`${flag}: '${raw}' is not a whole number of seconds (${min} or more)`, EXIT.usage);
  return n;
}

/**
 * The agent in this process until SIGINT/SIGTERM; as the launcher's worker also until it staged a
 * release (then it lets running scripts finish, tells the launcher, and exits) or the launcher is
 * gone (then it exits at once, as if it had crashed with it: the next launcher recovers).
 */
async function runAgent(o: {
  pcId: string;
  servers: string;
  dataDir: string;
  stopGraceMs: number;
  credsFile: string | null;
  caFile: string | null;
  worker: boolean;
}): Promise<void> {
  const log = processLogger('baton-agent', { pcId: o.pcId });
  const send = (m: LauncherMessage) =>
    new Promise<void>((done) => (process.send ? process.send(m, undefined, {}, () => done()) : done()));
  let restartTo: string | null = null;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((done) => (wake = done));
  const orphaned = () => {
    log.error({}, 'the launcher is gone; exiting');
    process.exit(EXIT.failed);
  };
  if (o.worker) process.on('disconnect', orphaned);
  const agent = new Agent({
    pcId: o.pcId,
    servers: o.servers,
    dataDir: o.dataDir,
    ...(o.credsFile ? { credsFile: o.credsFile } : {}),
    ...(o.caFile ? { caFile: o.caFile } : {}),
    logger: log,
    stopGraceMs: o.stopGraceMs,
    ...(o.worker
      ? {
          selfUpdate: {
            restart: (version: string) => {
              restartTo = version;
              wake();
            },
            ...(process.env['BATON_AGENT_UPDATED_FROM']
              ? { updatedFrom: process.env['BATON_AGENT_UPDATED_FROM'] }
              : {}),
          },
        }
      : {}),
  });
  process.on('SIGINT', () => wake());
  process.on('SIGTERM', () => wake());
  await agent.start();
  if (o.worker) await send({ type: 'healthy', version: packageVersion() });
  const lost = await Promise.race([stopped.then(() => null), agent.connectionLost()]);
  // A restart into a new release waits for running scripts (each is bounded by its timeout).
  await agent.stop(restartTo === null ? {} : { graceMs: Number.POSITIVE_INFINITY });
  if (restartTo !== null) await send({ type: 'restart', version: restartTo });
  process.off('disconnect', orphaned);
  process.disconnect?.();
  if (lost) {
    throw new CliError(
      `the NATS server closed this agent's connection: ${lost.message}` +
        (o.credsFile
          ? ` (credentials ${o.credsFile} revoked or refused; enroll again with a new token)`
          : ''),
      EXIT.unavailable,
    );
  }
}
