// `baton api <method> <path>`: one authenticated request to the backend API, for scripts and for
// what only the API does (users, tokens). It uses --api / BATON_API_URL / the context file's
// apiUrl and --token / BATON_TOKEN / the context file's token. Every other command talks to NATS
// (or the local projection) directly and works without the backend.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { action, connection } from './runtime.js';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

/** Exit code of an HTTP status: the same meanings as the NATS commands. */
export function exitOfStatus(status: number): ExitCode {
  if (status < 400) return EXIT.ok;
  if (status === 400 || status === 413 || status === 415 || status === 428) return EXIT.usage;
  if (status === 409) return EXIT.conflict;
  if (status === 404) return EXIT.notFound;
  if (status >= 502) return EXIT.unavailable;
  return EXIT.failed;
}

export function registerApiCommand(program: Command): void {
  program
    .command('api <method> <path>')
    .description("one request to the backend API with the context's URL and token: baton api GET /api/me")
    .option('-d, --data <json>', "JSON body, or '@file' to read it from a file")
    .option('--yaml <file>', 'send this file as text/yaml (job and schedule PUTs)')
    .option('--if-match <revision>', 'the revision an edit is based on (with --yaml)')
    .action(action(async function (this: Command, method: string, path: string, f: { data?: string; yaml?: string; ifMatch?: string }) {
      const conn = connection(this);
      const m = method.toUpperCase();
      if (!METHODS.includes(m)) throw new CliError(`method '${method}': expected one of ${METHODS.join(', ')}`, EXIT.usage);
      if (!conn.apiUrl) throw new CliError('no API URL: run `baton up`, or set --api / BATON_API_URL', EXIT.unavailable);
      if (!path.startsWith('/')) throw new CliError(`path '${path}' must start with /, e.g. /api/jobs`, EXIT.usage);
      const headers: Record<string, string> = {};
      if (conn.token) headers['authorization'] = `Bearer ${conn.token}`;
      let body: string | undefined;
      if (f.yaml) {
        body = await readFile(f.yaml, 'utf8');
        headers['content-type'] = 'text/yaml';
        if (f.ifMatch) headers['if-match'] = f.ifMatch;
      } else if (f.data !== undefined) {
        body = f.data.startsWith('@') ? await readFile(f.data.slice(1), 'utf8') : f.data;
        headers['content-type'] = 'application/json';
      }
      let res: Response;
      try {
        res = await fetch(new URL(path, conn.apiUrl), { method: m, headers, body });
      } catch (err) {
        throw new CliError(`cannot reach the API at ${conn.apiUrl}: ${(err as Error).message} (is \`baton up\` or \`baton backend\` running?)`, EXIT.unavailable, { cause: err });
      }
      const text = await res.text();
      if (res.ok) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      else process.stderr.write(`baton: ${res.status} ${text}\n`);
      return exitOfStatus(res.status);
    })); // prettier-ignore
}
