// `baton agent`: runs the endpoint agent in the foreground until SIGINT/SIGTERM. With `--enroll
// <token>` on first start it makes its own key pair, exchanges the token and its public key for its
// NATS credentials at the backend, and keeps them in `<data dir>/agent.creds` (0600); later starts
// use that file. By default this thread is the launcher (src/agent/launcher.ts), which runs the
// agent in a worker thread (agent-worker.ts) from the current release, for self-update;
// `--no-self-update` runs the agent in this thread. `--worker` (hidden) runs it as the child
// process of a launcher from before the worker thread (agent-run.ts).
//
// Lean on purpose: the launcher thread stays up for the agent's whole life, so this module loads
// commander, node built-ins and small helpers only (no zod, pino, NATS client or other command);
// the agent's modules load in the worker, or lazily (docs/agents.md, "Self-update").
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_WORKER_LIMITS, Launcher } from '../agent/launcher.js'; // not agent/index.js: that loads the agent
import { isName } from '../wire/names.js'; // not wire/index.js: that loads zod
import { lineLogger } from '../shared/line-logger.js';
import { projectRoot } from '../shared/paths.js';
import { action } from './action.js';
import { resolveConnection, type ConnectionFlags } from './context.js';
import { CliError, EXIT } from './exit-codes.js';

/** Where an enrolled agent keeps its credentials. */
export const AGENT_CREDS_FILE = 'agent.creds';

/**
 * The pc id an agent's credentials were issued for (their `pc:<id>` tag), or null. Reads the JWT's
 * claims without checking its signature (the server does, when the agent connects with it), so
 * that the launcher thread does not load the JWT library.
 */
export function credsPcId(credsFile: string): string | null {
  const jwt = /-----BEGIN NATS USER JWT-----\s*(\S+)/.exec(readFileSync(credsFile, 'utf8'))?.[1];
  const claims = jwt?.split('.')[1];
  if (!claims) return null;
  let tags: unknown;
  try {
    tags = (JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as { nats?: { tags?: unknown } }).nats?.tags;
  } catch (err) {
    throw new CliError(`${credsFile}: the user JWT cannot be read (${(err as Error).message})`, EXIT.usage, { cause: err });
  } // prettier-ignore
  if (!Array.isArray(tags)) return null;
  const tag = tags.find((t): t is string => typeof t === 'string' && t.startsWith('pc:'));
  return tag?.slice(3) ?? null;
}

/**
 * Exchanges an enrollment token for credentials: the key pair is made here and the seed never
 * leaves this machine; the backend returns the user JWT for the public key. Returns the pc id the
 * token was made for.
 */
export async function enroll(apiUrl: string, token: string, credsFile: string): Promise<string> {
  // Loaded here, not at the top: only the first start enrolls, later ones need no JWT library.
  const { createUser, fmtCreds } = await import('@nats-io/jwt');
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
      'run the agent in the main thread, without the launcher; target_version is ignored',
    )
    .option('--health-timeout <seconds>', 'time a new release gets to start before it is rolled back', '60')
    .option(
      '--max-heap <MB>',
      "JavaScript heap limit of the agent's worker thread; an agent above it is restarted",
      String(DEFAULT_WORKER_LIMITS.maxOldGenerationSizeMb),
    )
    .addOption(new Option('--worker', 'child process of an earlier launcher (internal)').hideHelp())
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
          maxHeap: string;
          worker?: boolean;
        },
      ) {
        let pcId = flags.pcId ?? defaultPcId();
        if (!isName(pcId)) {
          throw new CliError(
            `--pc-id: '${pcId}' is not a valid pc id (letters, digits, '_' and '-', max 128)`,
            EXIT.usage,
          );
        }
        const g = this.optsWithGlobals<ConnectionFlags>();
        const conn = resolveConnection({ server: g.server, api: g.api, creds: g.creds, ca: g.ca });
        const dataDir = resolve(flags.dataDir ?? join('.baton', `agent-${pcId}`));
        await mkdir(dataDir, { recursive: true });
        // Not the context file's credentials: those are the operator's, never an agent's.
        let credsFile = g.creds ?? null;
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
        const healthTimeoutMs = wholeNumber('--health-timeout', flags.healthTimeout, 1, 'seconds') * 1000;
        const maxHeapMb = wholeNumber('--max-heap', flags.maxHeap, 64, 'MB');
        const agent = { pcId, servers: conn.natsUrl, dataDir, stopGraceMs, credsFile: credsFile && resolve(credsFile), caFile: conn.caFile && resolve(conn.caFile) }; // prettier-ignore
        if (!flags.selfUpdate || flags.worker) {
          const { ipcChildHost, runAgent, signalHost } = await import('./agent-run.js');
          await runAgent(agent, flags.worker ? ipcChildHost() : signalHost());
          return;
        }
        const launcher = new Launcher({
          dataDir,
          baseRoot: projectRoot(),
          // Everything resolved here goes to the worker explicitly: it must not resolve differently.
          agent,
          resourceLimits: { ...DEFAULT_WORKER_LIMITS, maxOldGenerationSizeMb: maxHeapMb },
          healthTimeoutMs,
          stopTimeoutMs: stopGraceMs + 30_000,
          // Exit 5 (revoked or refused credentials: the server said no) is not restarted: the launcher ends with it.
          fatalExitCodes: [EXIT.unavailable],
          logger: lineLogger('baton-agent-launcher', { pcId }),
        });
        const stop = () => void launcher.stop();
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        const code = await launcher.run();
        if (code !== null) process.exitCode = code;
      }),
    );
}

/** `--health-timeout`-style flags: a whole number of `unit`, at least `min`. */
function wholeNumber(flag: string, raw: string, min: number, unit: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(`${flag}: '${raw}' is not a whole number of ${unit} (${min} or more)`, EXIT.usage);
  return n;
}
