// The files of agent self-update under `<data dir>/releases/`, shared by the launcher (which
// starts releases and rolls back) and the agent's updater (which stages them):
//   <version>/            an unpacked release (package.json, dist/src, node_modules -> base install)
//   <version>/.release.json   {version, sha256} of the bundle it came from
//   current.json          the pointer: {version (null: the base install), previous, trial}
//   failed.json           the last release that failed to start: {version, sha256, reason, at}
// Each file is replaced whole (write, fsync, rename), so a crash leaves the old or the new one.
// Checked by hand, not with zod: the launcher runs in `baton agent`'s main thread, which must not
// load zod (about 12 MiB of RSS; docs/agents.md, "Self-update").
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE_ENTRY } from '../shared/agent-bundle.js';
import { writeFileDurable, removeDurable } from './durable-file.js';

export type ReleasePointer = {
  /** The release to run; null: the base install (the package `baton agent` itself runs from). */
  version: string | null;
  /** What ran before; where a failed trial rolls back to. */
  previous: string | null;
  /** True until `version` reported healthy once. */
  trial: boolean;
};

export type FailedRelease = {
  version: string;
  sha256: string;
  reason: string;
  at: string;
  /** The version that was restored. */
  rolledBackTo: string;
};

export type StagedRelease = { version: string; sha256: string };

export type ReleaseFiles = ReturnType<typeof releaseFiles>;

type FieldKind = 'string' | 'string|null' | 'boolean';

/** Checks `fields` of a parsed file; the object itself (typed by the caller), or throws saying what is wrong. */
function check<T>(file: string, raw: unknown, fields: Record<string, FieldKind>): T {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`${file}: not a JSON object`);
  const o = raw as Record<string, unknown>;
  for (const [k, kind] of Object.entries(fields)) {
    const v = o[k];
    const ok = kind === 'boolean' ? typeof v === 'boolean' : typeof v === 'string' || (kind === 'string|null' && v === null);
    if (!ok) throw new Error(`${file}: '${k}' must be ${kind === 'string|null' ? 'a string or null' : `a ${kind}`}, not ${JSON.stringify(v)}`);
  } // prettier-ignore
  return raw as T;
}

const POINTER = { version: 'string|null', previous: 'string|null', trial: 'boolean' } as const;
const FAILED = {
  version: 'string',
  sha256: 'string',
  reason: 'string',
  at: 'string',
  rolledBackTo: 'string',
} as const;
const STAGED = { version: 'string', sha256: 'string' } as const;

async function readJson<T>(file: string, fields: Record<string, FieldKind>): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return check<T>(file, JSON.parse(text), fields);
}

export function releaseFiles(dataDir: string) {
  const dir = join(dataDir, 'releases');
  return {
    dir,
    releaseDir: (version: string) => join(dir, version),
    entry: (version: string) => join(dir, version, BUNDLE_ENTRY),
    staged: (version: string) => readJson<StagedRelease>(join(dir, version, '.release.json'), STAGED),
    stagedFile: (version: string) => join(dir, version, '.release.json'),
    pointer: () => readJson<ReleasePointer>(join(dir, 'current.json'), POINTER),
    setPointer: (p: ReleasePointer) => writeFileDurable(join(dir, 'current.json'), JSON.stringify(p)),
    failed: () => readJson<FailedRelease>(join(dir, 'failed.json'), FAILED),
    setFailed: (f: FailedRelease) => writeFileDurable(join(dir, 'failed.json'), JSON.stringify(f)),
    clearFailed: () => removeDurable(join(dir, 'failed.json')),
  };
}
