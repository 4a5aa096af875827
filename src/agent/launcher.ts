// The launcher: what `baton agent` runs in its main thread. It runs the agent in a worker thread
// loaded from the release `releases/current.json` points to (or from its own install), restarts it
// when it crashes, switches to a new release when the agent asks for it (after it downloaded,
// checked and unpacked it), and rolls back when a new release does not report healthy within a
// bound. It never connects to NATS: the agent it runs reports everything (docs/agents.md,
// "Self-update"). One process: each Worker has its own module map, so a new release's code is
// loaded into a fresh worker once the old one ended, and the launcher costs no second runtime.
//
// It must stay small: this module and what it imports load node built-ins and small helpers only
// (no zod, no pino, no NATS client); the agent's modules load in the worker.
//
// Protocol with the worker (worker messages): the worker sends {type:'healthy', version} once it
// started (connected, consumer bound, online), and {type:'restart', version} before it ends to be
// replaced by `version`; the launcher sends {type:'stop'} (SIGINT/SIGTERM reach the main thread
// only), and the worker stops the agent gracefully and ends.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { BUNDLE_ENTRY } from '../shared/agent-bundle.js';
import type { Logger } from '../shared/logger.js';
import { packageVersion } from '../shared/paths.js';
import { releaseFiles, type ReleasePointer } from './release-files.js';

/**
 * What a release's worker entry ({@link BUNDLE_ENTRY}) receives as `workerData`. A contract between
 * the installed launcher and every release it runs: change it only compatibly (new fields
 * optional), or bump `v`.
 */
export type AgentWorkerData = {
  v: 1;
  pcId: string;
  servers: string;
  dataDir: string;
  stopGraceMs: number;
  credsFile: string | null;
  caFile: string | null;
  /** The version the launcher just switched from (the agent reports `agent_updated`), else null. */
  updatedFrom: string | null;
};

/** Messages a worker sends its launcher. */
export type LauncherMessage = { type: 'healthy'; version: string } | { type: 'restart'; version: string };
/** Messages the launcher sends its worker. */
export type WorkerCommand = { type: 'stop' };

/** V8 heap limits of the agent's worker unless told otherwise (docs/agents.md, "Self-update"). */
export const DEFAULT_WORKER_LIMITS: ResourceLimits = {
  maxOldGenerationSizeMb: 512,
  maxYoungGenerationSizeMb: 2,
};

export type LauncherOptions = {
  /** The agent's data folder; releases live in `<dataDir>/releases`. */
  dataDir: string;
  /** The base install: the package folder with package.json, dist/src and node_modules. */
  baseRoot: string;
  /** What every worker gets (the launcher adds `v` and `updatedFrom`). */
  agent: Omit<AgentWorkerData, 'v' | 'updatedFrom'>;
  /**
   * Heap limits of the worker: one that exceeds them is ended (ERR_WORKER_OUT_OF_MEMORY) and
   * restarted like any crash, instead of growing until the host runs out of memory. Memory
   * outside the V8 heap (Buffers, the runtime) is not bounded. Default {@link DEFAULT_WORKER_LIMITS}.
   */
  resourceLimits?: ResourceLimits;
  /** Time a new release gets to report healthy before it is rolled back. Default 60 s. */
  healthTimeoutMs?: number;
  /** On stop, time the worker gets to end after the stop message before it is terminated. Default 60 s. */
  stopTimeoutMs?: number;
  /**
   * Exit codes of a healthy worker that end the launcher too (with that code) instead of a
   * restart: the agent said restarting cannot help (revoked credentials). Default none.
   */
  fatalExitCodes?: readonly number[];
  logger: Logger;
};

type WorkerEnd =
  | { kind: 'restart'; version: string; healthy: boolean }
  | { kind: 'exit'; healthy: boolean; reason: string; code: number | null };

const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
/**
 * A worker that did not report healthy in time gets this long to end after the stop message: its
 * agent never finished starting, and a broken release may not listen to messages at all.
 */
const UNHEALTHY_STOP_MS = 5_000;

export class Launcher {
  readonly #o: LauncherOptions;
  readonly #files: ReturnType<typeof releaseFiles>;
  readonly #log: Logger;
  #worker: Worker | null = null;
  #stopping = false;
  readonly #abort = new AbortController();
  #loop: Promise<number | null> | null = null;

  constructor(o: LauncherOptions) {
    this.#o = o;
    this.#files = releaseFiles(o.dataDir);
    this.#log = o.logger;
  }

  /** Keeps a worker running until stop() (then null) or until it exits with a fatal code (that code); idempotent. */
  run(): Promise<number | null> {
    this.#loop ??= this.#run();
    return this.#loop;
  }

  #name(version: string | null): string {
    return version ?? packageVersion(this.#o.baseRoot);
  }

  async #run(): Promise<number | null> {
    let cur: ReleasePointer = (await this.#files.pointer().catch((err: unknown) => {
      this.#log.error({ err }, 'unreadable releases/current.json; starting the base install');
      return null;
    })) ?? { version: null, previous: null, trial: false };
    if (cur.version !== null && !existsSync(this.#files.entry(cur.version))) {
      this.#log.error({ version: cur.version }, 'the current release is missing; starting the base install');
      cur = { version: null, previous: null, trial: false };
    }
    let backoffMs = MIN_BACKOFF_MS;
    let updatedFrom: string | null = null;
    while (!this.#stopping) {
      const end = await this.#runWorker(cur, updatedFrom);
      updatedFrom = null;
      if (this.#stopping) return null;
      // A fatal code ends the launcher when it comes from a release that had started (revoked
      // credentials) or from the release in use refusing to start (the server said no). From a
      // release on trial it is a failed update instead: rolled back below.
      if (
        end.kind === 'exit' &&
        (end.healthy || !cur.trial) &&
        end.code !== null &&
        this.#o.fatalExitCodes?.includes(end.code)
      ) {
        this.#log.error({ code: end.code }, 'the agent exited with a code a restart cannot help; stopping');
        return end.code;
      }
      if (end.kind === 'restart' && existsSync(this.#files.entry(end.version))) {
        this.#log.info(
          { from: this.#name(cur.version), to: end.version },
          'switching to a new agent release',
        );
        updatedFrom = this.#name(cur.version);
        cur = { version: end.version, previous: cur.version, trial: true };
        await this.#files.setPointer(cur);
        backoffMs = MIN_BACKOFF_MS;
        continue;
      }
      if (end.kind === 'restart')
        this.#log.error({ version: end.version }, 'asked to switch to a release that is not unpacked');
      if (cur.trial && !end.healthy && cur.version !== null) {
        const failed = cur.version;
        const reason = end.kind === 'exit' ? end.reason : 'restarted before it reported healthy';
        const staged = await this.#files.staged(failed).catch(() => null);
        cur = { version: cur.previous, previous: null, trial: false };
        await this.#files.setFailed({
          version: failed, sha256: staged?.sha256 ?? '', reason, at: new Date().toISOString(), rolledBackTo: this.#name(cur.version),
        }); // prettier-ignore
        await this.#files.setPointer(cur);
        this.#log.error(
          { version: failed, reason, rolledBackTo: this.#name(cur.version) },
          'agent release failed to start; rolled back',
        );
        continue;
      }
      if (end.healthy) backoffMs = MIN_BACKOFF_MS;
      this.#log.warn({ version: this.#name(cur.version), reason: end.kind === 'exit' ? end.reason : 'restart', restartInMs: backoffMs }, 'agent exited; restarting it'); // prettier-ignore
      await delay(backoffMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    }
    return null;
  }

  /** Runs one worker to its end; during a trial, a worker not healthy in time is stopped. */
  async #runWorker(cur: ReleasePointer, updatedFrom: string | null): Promise<WorkerEnd> {
    const entry =
      cur.version === null ? join(this.#o.baseRoot, BUNDLE_ENTRY) : this.#files.entry(cur.version);
    const data: AgentWorkerData = { v: 1, ...this.#o.agent, updatedFrom };
    let worker: Worker;
    try {
      worker = new Worker(pathToFileURL(entry), {
        workerData: data,
        resourceLimits: this.#o.resourceLimits ?? DEFAULT_WORKER_LIMITS,
      });
    } catch (err) {
      return {
        kind: 'exit',
        healthy: false,
        code: null,
        reason: `could not start: ${(err as Error).message}`,
      };
    }
    this.#worker = worker;
    let healthy = false;
    let restart: string | null = null;
    let crash: Error | null = null;
    // 'exit' comes after every message the worker posted and after 'error' (an uncaught error).
    const exited = new Promise<number>((resolveExit) => worker.once('exit', resolveExit));
    worker.on('error', (err) => (crash = err));
    worker.on('message', (m: LauncherMessage) => {
      if (m?.type === 'healthy') {
        healthy = true;
        if (cur.trial) {
          cur.trial = false;
          void this.#files.setPointer(cur).then(() => this.#files.clearFailed()).catch((err: unknown) => this.#log.error({ err }, 'could not record the release as healthy')); // prettier-ignore
          this.#log.info({ version: this.#name(cur.version) }, 'agent release healthy');
        }
      } else if (m?.type === 'restart' && typeof m.version === 'string') restart = m.version;
    });
    let timedOut = false;
    const healthTimeoutMs = this.#o.healthTimeoutMs ?? 60_000;
    const timer = cur.trial
      ? setTimeout(() => {
          if (healthy) return;
          timedOut = true;
          this.#stopWorker(worker, UNHEALTHY_STOP_MS);
        }, healthTimeoutMs)
      : null;
    const code = await exited;
    if (timer) clearTimeout(timer);
    this.#worker = null;
    if (restart !== null) return { kind: 'restart', version: restart, healthy };
    let reason = `exited with code ${code}`;
    if (timedOut) reason = `did not report healthy within ${Math.round(healthTimeoutMs / 1000)}s`;
    else if (crash) reason = crashReason(crash, this.#o.resourceLimits ?? DEFAULT_WORKER_LIMITS);
    if (crash && !timedOut) this.#log.error({ err: crash }, 'the agent crashed');
    return { kind: 'exit', healthy, code, reason };
  }

  /** Asks the worker to stop (it finishes gracefully); terminates it when it has not ended within `graceMs`. */
  #stopWorker(worker: Worker, graceMs: number): void {
    worker.postMessage({ type: 'stop' } satisfies WorkerCommand);
    const t = setTimeout(() => {
      this.#log.warn({ graceMs }, 'the agent did not stop in time; terminating it');
      void worker.terminate();
    }, graceMs);
    worker.once('exit', () => clearTimeout(t));
  }

  /** Stops the worker (it finishes gracefully) and the loop; idempotent. */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#abort.abort();
      if (this.#worker) this.#stopWorker(this.#worker, this.#o.stopTimeoutMs ?? 60_000);
    }
    await this.#loop;
  }
}

function crashReason(err: Error, limits: ResourceLimits): string {
  if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY')
    return `ran out of memory (heap limit ${limits.maxOldGenerationSizeMb ?? 'default'} MB)`;
  return `crashed: ${err.message}`;
}
