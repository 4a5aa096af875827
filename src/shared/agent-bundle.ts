// The agent bundle: a gzipped tar with `package.json` (its `version` is the release's) and
// `dist/src/` (the compiled code; the launcher's worker thread starts `dist/src/cli/agent-worker.js`,
// launchers from before the worker thread ran `dist/src/cli/main.js agent --worker` as a child
// process, which a bundle of today still has); dependencies are not in it, a
// release runs with the node_modules of the base install (docs/agents.md, "Self-update").
// Read and unpacked with the system's `tar` (GNU tar on Linux, bsdtar on macOS and Windows 10+),
// after the listing was checked (no absolute paths, no `..`). The checks catch mistakes, not
// attacks: a bundle is code every agent will run, so its trust comes from who may put releases.
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The file a bundle must contain for the launcher to start it: the module of the agent's worker thread. */
export const BUNDLE_ENTRY = 'dist/src/cli/agent-worker.js';
/** What launchers before the worker thread started (`main.js agent --worker`, a child process). */
const LEGACY_ENTRY = 'dist/src/cli/main.js';
const MAX_LISTING_BYTES = 64 * 1024 * 1024;

export class BundleError extends Error {
  override name = 'BundleError';
}

/** `entries`: files and folders in the bundle. */
export type BundleInfo = { version: string; entries: number };

const strip = (p: string) => p.replace(/^\.\//, '');

async function tar(args: string[]): Promise<string> {
  try {
    return (await run('tar', args, { maxBuffer: MAX_LISTING_BYTES, timeout: 120_000 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string; code?: string };
    if (e.code === 'ENOENT')
      throw new BundleError("the 'tar' command was not found on this system", { cause: err });
    throw new BundleError(`tar ${args[0]} failed: ${(e.stderr || e.message).trim().slice(0, 500)}`, {
      cause: err,
    });
  }
}

/**
 * Checks a bundle without unpacking it: gzip, a safe listing with `package.json` and
 * {@link BUNDLE_ENTRY}, and the package version. Throws BundleError saying what is wrong.
 */
export async function inspectBundle(file: string): Promise<BundleInfo> {
  const fh = await open(file, 'r');
  const magic = Buffer.alloc(2);
  try {
    await fh.read(magic, 0, 2, 0);
  } finally {
    await fh.close();
  }
  if (magic[0] !== 0x1f || magic[1] !== 0x8b) throw new BundleError(`${file}: not a gzipped tar (.tgz)`);
  const listed = (await tar(['-tzf', file])).split('\n').filter(Boolean);
  const names = new Set<string>();
  for (const raw of listed) {
    const name = strip(raw).replace(/\/$/, '');
    if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.split(/[\\/]/).includes('..'))
      throw new BundleError(`${file}: '${raw}' points outside the bundle`);
    names.add(name);
  }
  for (const want of ['package.json', BUNDLE_ENTRY]) {
    if (names.has(want)) continue;
    const nested = [...names].find((n) => n.endsWith(`/${want}`));
    let hint = nested ? ` (found '${nested}': pack from inside the package folder)` : '';
    if (!nested && want === BUNDLE_ENTRY && names.has(LEGACY_ENTRY))
      hint = ` (a build from before the agent ran in a worker thread: pack the release from a current build)`;
    throw new BundleError(`${file}: '${want}' is missing${hint}`);
  }
  const member = listed.includes('./package.json') ? './package.json' : 'package.json';
  let version: unknown;
  try {
    version = (JSON.parse(await tar(['-xzOf', file, member])) as { version?: unknown }).version;
  } catch (err) {
    if (err instanceof BundleError) throw err;
    throw new BundleError(`${file}: package.json is not valid JSON`, { cause: err });
  }
  if (typeof version !== 'string' || version === '')
    throw new BundleError(`${file}: package.json has no "version"`);
  return { version, entries: names.size };
}

/** Unpacks a bundle (checked by {@link inspectBundle} first) into an existing folder. */
export async function unpackBundle(file: string, dir: string): Promise<BundleInfo> {
  const info = await inspectBundle(file);
  await tar(['-xzf', file, '-C', dir, '--no-same-owner']);
  return info;
}

/** Writes the bundle of the install at `root` (its package.json and dist/src) to `out`. */
export async function packBundle(root: string, out: string): Promise<BundleInfo> {
  await tar(['-czf', out, '-C', root, 'package.json', 'dist/src']);
  return inspectBundle(out);
}
