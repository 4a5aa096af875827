// Finds a nats-server binary that is new enough, or provisions one from Debian's archive into the
// project's cache without installing anything system-wide. Order: $BATON_NATS_SERVER, PATH, cache.
import { execFile } from 'node:child_process';
import { access, constants, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from './paths.js';

const run = promisify(execFile);

/** The oldest nats-server baton supports (KV/object-store semantics and stream config we rely on). */
export const MIN_NATS_VERSION = '2.10.0';

/** Debian suites tried in order when no suitable binary is found. */
export const DEBIAN_SUITES = ['sid', 'trixie'] as const;

export type NatsBinary = { path: string; version: string; source: 'env' | 'path' | 'cache' };

export class NatsBinaryError extends Error {
  override name = 'NatsBinaryError';
}

/** Parses "nats-server: v2.15.1" (or "2.15.1") into [2, 15, 1]; null when it is not a version. */
export function parseVersion(text: string): [number, number, number] | null {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** True when `version` >= `min`; both as "x.y.z" strings. */
export function versionAtLeast(version: string, min: string): boolean {
  const a = parseVersion(version);
  const b = parseVersion(min);
  if (!a || !b) return false;
  for (let i = 0; i < 3; i++) {
    if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  }
  return true;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `<path> --version` and returns "2.15.1". */
export async function binaryVersion(path: string): Promise<string> {
  const { stdout } = await run(path, ['--version'], { timeout: 10_000 });
  const v = parseVersion(stdout);
  if (!v)
    throw new NatsBinaryError(`${path} --version printed ${JSON.stringify(stdout.trim())}, not a version`);
  return v.join('.');
}

function cachedBinaryCandidates(root: string): string[] {
  return [join(root, 'usr', 'sbin', 'nats-server'), join(root, 'usr', 'bin', 'nats-server')];
}

/** The folder the Debian package is unpacked into. */
export function natsCacheDir(): string {
  return join(cacheDir(), 'nats-server');
}

/**
 * Looks for a usable nats-server, without installing. Binaries that are older than
 * MIN_NATS_VERSION are skipped (and listed in `rejected`), so an old distro package on PATH does
 * not shadow a newer cached one.
 */
export async function findNatsServer(): Promise<{ found: NatsBinary | null; rejected: string[] }> {
  const rejected: string[] = [];
  const candidates: { path: string; source: NatsBinary['source'] }[] = [];
  const fromEnv = process.env['BATON_NATS_SERVER'];
  if (fromEnv) candidates.push({ path: fromEnv, source: 'env' });
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir) candidates.push({ path: join(dir, 'nats-server'), source: 'path' });
  }
  for (const path of cachedBinaryCandidates(natsCacheDir())) candidates.push({ path, source: 'cache' });
  for (const c of candidates) {
    if (!(await isExecutable(c.path))) continue;
    let version: string;
    try {
      version = await binaryVersion(c.path);
    } catch (err) {
      rejected.push(`${c.path}: ${(err as Error).message}`);
      continue;
    }
    if (versionAtLeast(version, MIN_NATS_VERSION)) return { found: { ...c, version }, rejected };
    rejected.push(`${c.path}: version ${version} is older than ${MIN_NATS_VERSION}`);
  }
  return { found: null, rejected };
}

/** Progress lines for the person running the install; library code never prints. */
export type InstallLog = (line: string) => void;

async function downloadFromSuite(suite: string, work: string, log: InstallLog): Promise<string> {
  const lists = join(work, 'lists');
  await mkdir(join(lists, 'partial'), { recursive: true });
  await mkdir(join(work, 'cache', 'archives', 'partial'), { recursive: true });
  const sources = join(work, 'sources.list');
  await writeFile(
    sources,
    `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${suite} main\n`,
  );
  const aptOpts = [
    `-o`, `Dir::Etc::SourceList=${sources}`,
    `-o`, `Dir::Etc::SourceParts=/dev/null`,
    `-o`, `Dir::State::Lists=${lists}`,
    `-o`, `Dir::Cache=${join(work, 'cache')}`,
    `-o`, `APT::Sandbox::User=${process.getuid?.() === 0 ? 'root' : ''}`,
    `-o`, `Debug::NoLocking=1`,
    `-q`,
  ]; // prettier-ignore
  log(`fetching the package index of Debian ${suite}`);
  await run('apt-get', [...aptOpts, 'update'], { cwd: work, timeout: 300_000 });
  log(`downloading nats-server from Debian ${suite}`);
  await run('apt-get', [...aptOpts, 'download', 'nats-server'], { cwd: work, timeout: 300_000 });
  const deb = (await readdir(work)).find((f) => f.startsWith('nats-server_') && f.endsWith('.deb'));
  if (!deb) throw new NatsBinaryError(`apt-get download left no nats-server .deb in ${work}`);
  return join(work, deb);
}

/**
 * Makes sure a usable nats-server exists: returns the one found, or downloads Debian's package
 * (sid, then trixie) with `apt-get download` against a private sources list and unpacks it with
 * `dpkg -x` into `.cache/nats-server`. Throws NatsBinaryError with install instructions when
 * neither works.
 */
export async function ensureNatsServer(log: InstallLog = () => {}): Promise<NatsBinary> {
  const { found, rejected } = await findNatsServer();
  if (found) return found;
  for (const r of rejected) log(`skipping ${r}`);
  const failures: string[] = [];
  const target = natsCacheDir();
  for (const suite of DEBIAN_SUITES) {
    const work = join(cacheDir(), 'apt', suite);
    try {
      await rm(work, { recursive: true, force: true });
      await mkdir(work, { recursive: true });
      const deb = await downloadFromSuite(suite, work, log);
      await rm(target, { recursive: true, force: true });
      await mkdir(target, { recursive: true });
      await run('dpkg', ['-x', deb, target], { timeout: 120_000 });
      for (const path of cachedBinaryCandidates(target)) {
        if (!(await isExecutable(path))) continue;
        const version = await binaryVersion(path);
        if (!versionAtLeast(version, MIN_NATS_VERSION)) {
          failures.push(`Debian ${suite} has nats-server ${version}, older than ${MIN_NATS_VERSION}`);
          break;
        }
        log(`installed nats-server ${version} from Debian ${suite} into ${target}`);
        return { path, version, source: 'cache' };
      }
      failures.push(`Debian ${suite}: the package held no nats-server binary`);
    } catch (err) {
      const e = err as Error & { stderr?: string };
      failures.push(`Debian ${suite}: ${(e.stderr ?? '').trim().split('\n').pop() || e.message}`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  throw new NatsBinaryError(
    [
      `no nats-server >= ${MIN_NATS_VERSION} found, and fetching Debian's package failed:`,
      ...failures.map((f) => `  - ${f}`),
      ...rejected.map((r) => `  - skipped ${r}`),
      'Install nats-server >= 2.10 yourself and put it on PATH (or set BATON_NATS_SERVER=/path/to/nats-server):',
      '  https://docs.nats.io/running-a-nats-service/introduction/installation',
    ].join('\n'),
  );
}
