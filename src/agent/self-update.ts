// The agent's side of self-update: follows the effective `target_version`, and when it names a
// release other than the running one, waits a random delay within `update_jitter`, downloads the
// bundle from `agent_releases`, checks its sha256 and its version, unpacks it under
// `releases/<version>/` and asks the launcher to restart into it. A release the launcher rolled
// back (`releases/failed.json`) is not tried again until its bundle is replaced.
import { mkdir, realpath, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { AgentReleaseStore } from '../kv/index.js';
import type { AgentUpdateState } from '../wire/index.js';
import { unpackBundle } from '../shared/agent-bundle.js';
import type { Logger } from '../shared/logger.js';
import { projectRoot } from '../shared/paths.js';
import { writeFileDurable } from './durable-file.js';
import { releaseFiles } from './release-files.js';

/** After a failed download or a missing release, the next attempt comes this much later. */
export const UPDATE_RETRY_MS = 5 * 60_000;

export type SelfUpdaterDeps = {
  pcId: string;
  /** The running version. */
  version: string;
  dataDir: string;
  releases: AgentReleaseStore;
  /** Hands over to the launcher: the agent stops and is restarted as `version`. */
  restart: (version: string) => void;
  /** Publishes an ObsEvent on the agent's timeline (deduplicated by id). */
  obs: (kind: string, payload: Record<string, unknown>, id: string) => Promise<void>;
  /** The update state changed: report it (a heartbeat now). */
  changed: () => void;
  logger: Logger;
  /** Random delay within the jitter; tests may pin it. Default uniform. */
  random?: () => number;
};

export class SelfUpdater {
  readonly #d: SelfUpdaterDeps;
  readonly #files: ReturnType<typeof releaseFiles>;
  #state: AgentUpdateState | undefined;
  #target: { version: string | null; jitterMs: number } = { version: null, jitterMs: 0 };
  #attempt: { abort: AbortController; done: Promise<void> } | null = null;

  constructor(d: SelfUpdaterDeps) {
    this.#d = d;
    this.#files = releaseFiles(d.dataDir);
  }

  /** What the heartbeat reports; undefined when the agent runs its target (or has none). */
  get state(): AgentUpdateState | undefined {
    return this.#state;
  }

  /** Reports a rollback the launcher recorded (idempotent: the event id is the failure's). */
  async start(): Promise<void> {
    const failed = await this.#files.failed().catch(() => null);
    if (!failed) return;
    await this.#d.obs(
      'agent_update_failed',
      { version: failed.version, reason: failed.reason, rolledBackTo: failed.rolledBackTo },
      `${this.#d.pcId}-update-failed-${failed.version}-${Date.parse(failed.at)}`,
    );
  }

  /** Follows the effective config; a change of target or jitter restarts the attempt. */
  apply(version: string | null, jitterMs: number): void {
    if (version === this.#target.version && jitterMs === this.#target.jitterMs) return;
    if (this.#state?.status === 'restarting') return; // handing over: too late to change course
    this.#target = { version, jitterMs };
    this.#attempt?.abort.abort();
    this.#attempt = null;
    if (version === null || version === this.#d.version) {
      this.#set(undefined);
      return;
    }
    const abort = new AbortController();
    const done = this.#loop(version, jitterMs, abort.signal).catch((err: unknown) => {
      if (!abort.signal.aborted) this.#d.logger.error({ err, version }, 'self-update stopped');
    });
    this.#attempt = { abort, done };
  }

  async stop(): Promise<void> {
    this.#attempt?.abort.abort();
    await this.#attempt?.done;
  }

  #set(state: AgentUpdateState | undefined): void {
    this.#state = state;
    this.#d.changed();
  }

  async #loop(version: string, jitterMs: number, signal: AbortSignal): Promise<void> {
    let waited = false;
    while (!signal.aborted) {
      const release = await this.#d.releases.get(version);
      const failed = await this.#files.failed().catch(() => null);
      let error: string | null = null;
      if (!release) error = `no agent release '${version}' (baton agent-release put)`;
      else if (failed && failed.version === version && failed.sha256 === release.sha256)
        error = `rolled back to ${failed.rolledBackTo}: ${failed.reason}`;
      if (error === null && !waited) {
        const waitMs = Math.floor((this.#d.random ?? Math.random)() * jitterMs);
        this.#set({ version, status: 'waiting', at: new Date().toISOString() });
        this.#d.logger.info({ version, waitMs }, 'agent update planned');
        await delay(waitMs, undefined, { signal });
        waited = true;
        continue; // the release may have changed meanwhile
      }
      if (error === null) {
        try {
          this.#set({ version, status: 'downloading', at: new Date().toISOString() });
          await this.#stage(version, signal);
          this.#set({ version, status: 'restarting', at: new Date().toISOString() });
          this.#d.logger.info({ version }, 'agent release staged; restarting into it');
          this.#d.restart(version);
          return;
        } catch (err) {
          if (signal.aborted) return;
          error = (err as Error).message;
          await this.#d.obs(
            'agent_update_failed',
            { version, reason: error },
            `${this.#d.pcId}-update-failed-${version}-${Date.now()}`,
          );
        }
      }
      if (this.#state?.status !== 'failed' || this.#state.error !== error) {
        this.#d.logger.warn({ version, error }, 'agent update not possible now');
        this.#set({ version, status: 'failed', error: error.slice(0, 1000), at: new Date().toISOString() });
      }
      await delay(UPDATE_RETRY_MS, undefined, { signal });
    }
  }

  /** Download, verify, unpack into a temp folder, check the version, then rename into place. */
  async #stage(version: string, signal: AbortSignal): Promise<void> {
    await mkdir(this.#files.dir, { recursive: true });
    const tmp = join(this.#files.dir, `.staging-${version}-${process.pid}`);
    const bundle = `${tmp}.tgz`;
    await rm(tmp, { recursive: true, force: true });
    try {
      const release = await this.#d.releases.download(version, bundle, signal);
      signal.throwIfAborted();
      await mkdir(tmp);
      const info = await unpackBundle(bundle, tmp);
      if (info.version !== version)
        throw new Error(`the bundle of release '${version}' is version '${info.version}' (its package.json)`);
      // Dependencies come from the base install (the bundle has none): a link to its node_modules.
      const modules = await realpath(join(projectRoot(), 'node_modules'));
      await symlink(modules, join(tmp, 'node_modules'), 'junction');
      await writeFileDurable(join(tmp, '.release.json'), JSON.stringify({ version, sha256: release.sha256 }));
      await rm(this.#files.releaseDir(version), { recursive: true, force: true });
      await rename(tmp, this.#files.releaseDir(version));
    } finally {
      await rm(bundle, { force: true });
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
