// Where the CLI finds the platform: flags, then BATON_* environment variables, then the context
// file `baton up` writes (.baton/context.json in this folder or a parent, like git finds .git),
// then the local defaults.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CliError, EXIT } from './exit-codes.js';

export const CONTEXT_FILE = 'context.json';
export const DEFAULT_DATA_DIR = '.baton';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** What `baton up` writes so that later commands in the same folder find the stack. */
export type BatonContext = {
  natsUrl: string;
  apiUrl: string | null;
  token: string | null;
  /** The operator's NATS credentials (`<dataDir>/creds/admin.creds`). */
  credsFile: string | null;
  /** CA of the server's TLS certificate, when `baton up --tls`. */
  caFile: string | null;
  /** The NATS authority folder (keys that sign and revoke agent identities). */
  authorityDir: string | null;
  dataDir: string;
  pid: number;
  startedAt: string;
};

const REQUIRED_STRINGS = ['natsUrl', 'dataDir', 'startedAt'] as const;
const OPTIONAL_STRINGS = ['apiUrl', 'token', 'credsFile', 'caFile', 'authorityDir'] as const;

/**
 * Checks a parsed context file: the context (absent optional fields null), or what is wrong.
 * Checked by hand, not with zod: every command reads this file, `baton agent`'s launcher thread
 * too, which must not load zod (docs/agents.md, "Self-update").
 */
export function parseBatonContext(raw: unknown): BatonContext | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  const o = raw as Record<string, unknown>;
  for (const k of REQUIRED_STRINGS) if (typeof o[k] !== 'string') return `'${k}' must be a string`;
  for (const k of OPTIONAL_STRINGS)
    if (o[k] !== undefined && o[k] !== null && typeof o[k] !== 'string')
      return `'${k}' must be a string or null`;
  if (!Number.isInteger(o['pid'])) return "'pid' must be an integer";
  const opt = (k: (typeof OPTIONAL_STRINGS)[number]) => (o[k] as string | null | undefined) ?? null;
  return {
    natsUrl: o['natsUrl'] as string,
    apiUrl: opt('apiUrl'),
    token: opt('token'),
    credsFile: opt('credsFile'),
    caFile: opt('caFile'),
    authorityDir: opt('authorityDir'),
    dataDir: o['dataDir'] as string,
    pid: o['pid'] as number,
    startedAt: o['startedAt'] as string,
  };
}

export type ConnectionFlags = {
  server?: string;
  api?: string;
  token?: string;
  creds?: string;
  ca?: string;
  authority?: string;
};
export type ResolvedConnection = {
  natsUrl: string;
  apiUrl: string | null;
  token: string | null;
  credsFile: string | null;
  caFile: string | null;
  authorityDir: string | null;
  /** Where each value came from, for `baton context` and error messages. */
  from: { nats: string; api: string; token: string; creds: string; ca: string; authority: string };
  contextFile: string | null;
};

/** Finds `.baton/context.json` in `start` or one of its parents. */
export function findContextFile(start = process.cwd()): string | null {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, DEFAULT_DATA_DIR, CONTEXT_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

export function readContextFile(file: string): BatonContext {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(
      `${file}: not a valid context file (${(err as Error).message}); delete it or run \`baton up\``,
      EXIT.usage,
    );
  }
  const parsed = parseBatonContext(raw);
  if (typeof parsed === 'string')
    throw new CliError(`${file}: not a valid context file (${parsed})`, EXIT.usage);
  return parsed;
}

export function resolveConnection(
  flags: ConnectionFlags,
  env = process.env,
  cwd = process.cwd(),
): ResolvedConnection {
  const contextFile = findContextFile(cwd);
  const ctx = contextFile ? readContextFile(contextFile) : null;
  const pick = <T>(
    flag: T | undefined,
    envName: string,
    fromCtx: T | null | undefined,
    fallback: T,
  ): [T, string] => {
    if (flag !== undefined) return [flag, 'flag'];
    const e = env[envName];
    if (e !== undefined && e !== '') return [e as T, envName];
    if (fromCtx !== undefined && fromCtx !== null) return [fromCtx, contextFile!];
    return [fallback, 'default'];
  };
  const [natsUrl, nats] = pick(flags.server, 'BATON_NATS_URL', ctx?.natsUrl, DEFAULT_NATS_URL);
  const [apiUrl, api] = pick<string | null>(flags.api, 'BATON_API_URL', ctx?.apiUrl, null);
  // The context's secrets go only to the context's own servers: pointed at another NATS server or
  // API (flag, env), the local stack's admin credentials, CA, authority and token are not used.
  const sameNats = ctx !== null && natsUrl === ctx.natsUrl;
  const sameApi = ctx !== null && apiUrl !== null && apiUrl === ctx.apiUrl;
  const [token, tokenFrom] = pick<string | null>(
    flags.token,
    'BATON_TOKEN',
    sameApi ? ctx.token : null,
    null,
  );
  const [credsFile, creds] = pick<string | null>(
    flags.creds,
    'BATON_NATS_CREDS',
    sameNats ? ctx.credsFile : null,
    null,
  );
  const [caFile, ca] = pick<string | null>(flags.ca, 'BATON_NATS_CA', sameNats ? ctx.caFile : null, null);
  const [authorityDir, authority] = pick<string | null>(
    flags.authority,
    'BATON_AUTHORITY',
    sameNats ? ctx.authorityDir : null,
    null,
  );
  return {
    natsUrl, apiUrl, token, credsFile, caFile, authorityDir, contextFile,
    from: { nats, api, token: tokenFrom, creds, ca, authority },
  }; // prettier-ignore
}
