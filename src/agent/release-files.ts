// The files of agent self-update under `<data dir>/releases/`, shared by the launcher (which
// starts releases and rolls back) and the agent's updater (which stages them):
//   <version>/            an unpacked release (package.json, dist/src, node_modules -> base install)
//   <version>/.release.json   {version, sha256} of the bundle it came from
//   current.json          the pointer: {version (null: the base install), previous, trial}
//   failed.json           the last release that failed to start: {version, sha256, reason, at}
// Each file is replaced whole (write, fsync, rename), so a crash leaves the old or the new one.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BUNDLE_ENTRY } from '../shared/agent-bundle.js';
import { writeFileDurable, removeDurable } from './durable-file.js';

export const ReleasePointer = z.object({
  /** The release to run; null: the base install (the package `baton agent` itself runs from). */
  version: z.string().nullable(),
  /** What ran before; where a failed trial rolls back to. */
  previous: z.string().nullable(),
  /** True until `version` reported healthy once. */
  trial: z.boolean(),
});
export type ReleasePointer = z.infer<typeof ReleasePointer>;

export const FailedRelease = z.object({
  version: z.string(),
  sha256: z.string(),
  reason: z.string(),
  at: z.string(),
  /** The version that was restored. */
  rolledBackTo: z.string(),
});
export type FailedRelease = z.infer<typeof FailedRelease>;

export const StagedRelease = z.object({ version: z.string(), sha256: z.string() });

export type ReleaseFiles = ReturnType<typeof releaseFiles>;

async function readJson<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return schema.parse(JSON.parse(text));
}

export function releaseFiles(dataDir: string) {
  const dir = join(dataDir, 'releases');
  return {
    dir,
    releaseDir: (version: string) => join(dir, version),
    entry: (version: string) => join(dir, version, BUNDLE_ENTRY),
    staged: (version: string) => readJson(join(dir, version, '.release.json'), StagedRelease),
    stagedFile: (version: string) => join(dir, version, '.release.json'),
    pointer: () => readJson(join(dir, 'current.json'), ReleasePointer),
    setPointer: (p: ReleasePointer) => writeFileDurable(join(dir, 'current.json'), JSON.stringify(p)),
    failed: () => readJson(join(dir, 'failed.json'), FailedRelease),
    setFailed: (f: FailedRelease) => writeFileDurable(join(dir, 'failed.json'), JSON.stringify(f)),
    clearFailed: () => removeDurable(join(dir, 'failed.json')),
  };
}
