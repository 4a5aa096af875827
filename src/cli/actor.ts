// Who the CLI acts as, and where an applied file comes from (its repository path and commit).
import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { AuditActor } from '../wire/index.js';

const run = promisify(execFile);

/** The operator: BATON_ACTOR, else the OS user name. (Backend calls use the token's user.) */
export function cliActor(env = process.env): AuditActor {
  const name = env['BATON_ACTOR'] || safeUser();
  return { kind: 'user', name };
}

function safeUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

export type FileOrigin = { file: string; gitCommit?: string };

const repoCache = new Map<string, Promise<{ top: string; commit: string } | null>>();

async function repoOf(dir: string): Promise<{ top: string; commit: string } | null> {
  try {
    const top = (
      await run('git', ['-C', dir, 'rev-parse', '--show-toplevel'], { timeout: 5_000 })
    ).stdout.trim();
    const commit = (await run('git', ['-C', dir, 'rev-parse', 'HEAD'], { timeout: 5_000 })).stdout.trim();
    return /^[0-9a-f]{7,64}$/.test(commit) ? { top, commit } : null;
  } catch {
    return null; // not a repository, no commit yet, or git missing: the plain path is recorded
  }
}

/**
 * The applied file as a receipt names it: its path inside its git repository with the HEAD
 * commit, or the path as given when it is not in a repository.
 */
export async function fileOrigin(path: string): Promise<FileOrigin> {
  const dir = dirname(resolve(path));
  let cached = repoCache.get(dir);
  if (!cached) {
    cached = repoOf(dir);
    repoCache.set(dir, cached);
  }
  const repo = await cached;
  if (!repo) return { file: path };
  return { file: relative(repo.top, resolve(path)), gitCommit: repo.commit };
}
