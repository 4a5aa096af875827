import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder that holds baton's package.json. Compiled code lives in `dist/src/...`, sources in
 * `src/...`; both are found by walking up to the nearest package.json.
 */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`cannot find baton's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Where provisioned tools (the nats-server binary) are cached: `<project>/.cache`. */
export function cacheDir(): string {
  return resolve(projectRoot(), '.cache');
}

/** The embedded default's server config shipped with the project. */
export function bundledNatsConfig(): string {
  return resolve(projectRoot(), 'nats-server.conf');
}

/** The `version` of the package.json of the running code (a release's own, under self-update). */
export function packageVersion(root = projectRoot()): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}
