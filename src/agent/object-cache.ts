// The agent's on-disk cache of script objects and app packages, one file per sha256. A request
// pins the sha256 each object had when it was published; the agent runs nothing unless the bytes
// it has are exactly those. A cached file is hashed again on every use (a script running as the
// agent's account could have changed it), and a download is written to a temporary file, hashed
// while it streams (bounded memory whatever the size) and renamed into place only when it matches.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { packageEnvName, parseObjectRef, type ExecRequest, type PackagePin } from '../wire/index.js';
import { sha256File, type ArtifactKind, type ArtifactStore } from '../kv/index.js';

/** Why a run was refused before it started; becomes the result's status and reason. */
export class RunRefusal extends Error {
  override name = 'RunRefusal';
  constructor(
    readonly reason: 'sha256_mismatch' | 'object_missing' | 'fetch_failed' | 'killed',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** What a run needs besides the request: the script body and the environment for its packages. */
export type PreparedRun = { body: string; env: Record<string, string> };

export class ObjectCache {
  readonly #dir: string;
  readonly #open: (kind: ArtifactKind) => Promise<ArtifactStore>;

  constructor(dir: string, open: (kind: ArtifactKind) => Promise<ArtifactStore>) {
    this.#dir = dir;
    this.#open = open;
  }

  /** The path of a verified local copy of `ref` with `sha256`, downloading it when needed. */
  async file(kind: ArtifactKind, ref: string, sha256: string, signal: AbortSignal): Promise<string> {
    const dir = join(this.#dir, `${kind}s`);
    const path = join(dir, sha256);
    if (await exists(path)) {
      if ((await sha256File(path)) === sha256) return path;
      await rm(path, { force: true }); // changed on disk since it was cached: fetch it again
    }
    await mkdir(dir, { recursive: true });
    const store = await this.#open(kind);
    const info = await store.info(ref);
    if (!info)
      throw new RunRefusal('object_missing', `${kind} '${ref}' was removed after the run was published`);
    if (info.sha256 !== sha256) throw mismatch(kind, ref, sha256, info.sha256, 'the store has');
    const part = `${path}.${randomBytes(6).toString('hex')}.part`;
    const hash = createHash('sha256');
    const out = await open(part, 'w');
    try {
      for await (const chunk of store.read(info, signal)) {
        hash.update(chunk);
        await out.write(chunk);
      }
    } catch (err) {
      await out.close();
      await rm(part, { force: true });
      if (signal.aborted) throw new RunRefusal('killed', `killed while fetching ${kind} '${ref}'`);
      throw new RunRefusal('fetch_failed', `cannot fetch ${kind} '${ref}': ${(err as Error).message}`, {
        cause: err,
      });
    }
    await out.close();
    const actual = hash.digest('hex');
    if (actual !== sha256) {
      await rm(part, { force: true });
      throw mismatch(kind, ref, sha256, actual, 'the downloaded bytes have');
    }
    await chmod(part, 0o444);
    await rename(part, path);
    return path;
  }

  /**
   * The script body and package environment of a request. Packages are linked (or copied) into
   * `<workDir>/packages/<name>/<file>`, so a script may delete or move its copy freely.
   */
  async prepare(request: ExecRequest, workDir: string, signal: AbortSignal): Promise<PreparedRun> {
    const { script } = request;
    let body: string;
    if (script.kind === 'inline') body = script.body;
    else body = await readFile(await this.file('script', script.object, script.sha256, signal), 'utf8');
    const env: Record<string, string> = {};
    if (!request.packages?.length) return { body, env };
    const root = join(workDir, 'packages');
    env['BATON_PACKAGES_DIR'] = root;
    for (const pin of request.packages)
      env[packageEnvName(nameOf(pin))] = await this.#place(pin, root, signal);
    return { body, env };
  }

  async #place(pin: PackagePin, root: string, signal: AbortSignal): Promise<string> {
    const cached = await this.file('package', pin.object, pin.sha256, signal);
    const dir = join(root, nameOf(pin));
    await mkdir(dir, { recursive: true });
    const dest = join(dir, pin.file);
    await link(cached, dest).catch(() => copyFile(cached, dest)); // another volume: copy
    return dest;
  }
}

function nameOf(pin: PackagePin): string {
  return parseObjectRef(pin.object)?.name ?? pin.object;
}

function mismatch(
  kind: ArtifactKind,
  ref: string,
  expected: string,
  actual: string,
  what: string,
): RunRefusal {
  return new RunRefusal(
    'sha256_mismatch',
    `${kind} '${ref}': expected sha256 ${expected} (pinned when the run was published), ${what} ${actual}`,
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
