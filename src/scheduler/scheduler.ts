// The scheduler: watches the `schedules` bucket and the freeze, runs one loop per enabled
// schedule (schedule-runner.ts), and publishes each fire through startExecution with an exec id
// derived from schedule id + fire time. No leader: replicas that fire the same tick publish the
// same message ids and JetStream keeps one (docs/schedules.md).
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import type { KvWatchEntry } from '@nats-io/kv';
import {
  JobStore,
  MissingObjectError,
  ScheduleStore,
  SchedulerState,
  isFrozen,
  publishAudit,
  scheduleFromEntry,
  startExecution,
  type FreezeState,
} from '../kv/index.js';
import {
  WireError,
  formatParamProblem,
  isTimeZone,
  parseCron,
  quote,
  validateParams,
} from '../wire/index.js';
import { systemClock, type Clock } from './clock.js';
import { ON_TIME_MS, fireExecId, type SkipReason } from './fire-plan.js';
import { runSchedule, type RunnerDeps, type RunnerSchedule, type SkipDecision } from './schedule-runner.js';

type LogFn = (fields: Record<string, unknown>, msg: string) => void;
/** What the scheduler logs through (pino's shape); messages are constant strings. */
export type SchedulerLogger = { info: LogFn; error: LogFn };

export type SchedulerOptions = {
  nc: NatsConnection;
  logger: SchedulerLogger;
  /** Default: the system clock. */
  clock?: Clock;
  /** Name of this replica in receipts (`actor.name`). Default `scheduler`. */
  name?: string;
  /** A fire handled later than this after its time follows catch_up. Default 30 s (ON_TIME_MS). */
  onTimeMs?: number;
};

type Running = { revision: number; controller: AbortController; done: Promise<void> };

export type SchedulerStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export class Scheduler {
  #status: SchedulerStatus = 'idle';
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  readonly #opts: Required<SchedulerOptions>;
  #jobs!: JobStore;
  #schedules!: ScheduleStore;
  #state!: SchedulerState;
  #freeze: FreezeState | null = null;
  readonly #running = new Map<string, Running>();
  readonly #watchers: QueuedIterator<KvWatchEntry>[] = [];
  readonly #loops: Promise<void>[] = [];
  // Changes of one schedule are applied in order (stop the old loop before starting the new).
  #queue: Promise<void> = Promise.resolve();

  constructor(opts: SchedulerOptions) {
    this.#opts = { clock: systemClock, name: 'scheduler', onTimeMs: ON_TIME_MS, ...opts };
  }

  get status(): SchedulerStatus {
    return this.#status;
  }

  /** Ids of the schedules with a running loop (enabled ones). */
  get active(): string[] {
    return [...this.#running.keys()].sort();
  }

  /** Starts watching and firing; resolves once the current schedules are loaded. Idempotent. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#status = 'starting';
    const { nc } = this.#opts;
    [this.#jobs, this.#schedules, this.#state] = await Promise.all([
      JobStore.open(nc),
      ScheduleStore.open(nc),
      SchedulerState.open(nc),
    ]);
    this.#freeze = await this.#state.freeze().then(
      (f) => f.state,
      (err: unknown) => this.#unreadableFreeze(err),
    );
    const freezeWatch = await this.#state.watchFreeze();
    const scheduleWatch = await this.#schedules.watch();
    this.#watchers.push(freezeWatch, scheduleWatch);
    this.#loops.push(
      (async () => {
        for await (const e of freezeWatch) this.#onFreeze(e);
      })(),
      (async () => {
        for await (const e of scheduleWatch) this.#onSchedule(e);
      })(),
    );
    this.#status = 'running';
    this.#opts.logger.info({ name: this.#opts.name }, 'scheduler started');
  }

  /** Stops every loop (a fire in progress completes), then the watchers. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    this.#status = 'stopping';
    for (const w of this.#watchers) w.stop();
    await Promise.allSettled(this.#loops);
    await this.#queue;
    const running = [...this.#running.values()];
    this.#running.clear();
    for (const r of running) r.controller.abort();
    await Promise.all(running.map((r) => r.done));
    this.#status = 'stopped';
    this.#opts.logger.info({ name: this.#opts.name }, 'scheduler stopped');
  }

  #onFreeze(e: KvWatchEntry): void {
    try {
      this.#freeze = SchedulerState.freezeOf(e);
      this.#opts.logger.info({ freeze: this.#freeze }, 'freeze changed');
    } catch (err) {
      this.#freeze = this.#unreadableFreeze(err);
    }
  }

  /** A malformed freeze value is treated as frozen: fail closed. */
  #unreadableFreeze(err: unknown): FreezeState {
    this.#opts.logger.error({ err }, 'freeze value unreadable; treating the fleet as frozen');
    return { reason: 'unreadable freeze value', until: null, setAt: new Date(0).toISOString(), setBy: '?' };
  }

  #onSchedule(e: KvWatchEntry): void {
    const id = e.key;
    this.#queue = this.#queue.then(async () => {
      if (this.#status === 'stopping' || this.#status === 'stopped') return;
      let next: RunnerSchedule | null = null;
      if (e.operation === 'PUT') {
        try {
          const rec = scheduleFromEntry(e);
          // The stored schema takes any string as cron and time zone (apply validates them); one
          // that does not parse is an invalid value here, not a runner that throws (taking the
          // process with it) or retries forever.
          parseCron(rec.schedule.cron);
          if (!isTimeZone(rec.schedule.timezone))
            throw new WireError(`unknown time zone ${quote(rec.schedule.timezone)}`);
          if (rec.schedule.enabled) next = rec;
        } catch (err) {
          this.#opts.logger.error(
            { err, schedule: id, revision: e.revision },
            'schedule value invalid; not firing it',
          );
        }
      }
      const current = this.#running.get(id);
      if (current && next && current.revision === next.revision) return;
      if (current) {
        this.#running.delete(id);
        current.controller.abort();
        await current.done;
      }
      if (next) this.#run(next);
      this.#opts.logger.info(
        { schedule: id, revision: e.revision, running: next !== null },
        'schedule loaded',
      );
    });
  }

  #run(s: RunnerSchedule): void {
    const controller = new AbortController();
    const done = runSchedule(s, this.#deps(), controller.signal);
    this.#running.set(s.id, { revision: s.revision, controller, done });
  }

  #deps(): RunnerDeps {
    const log = this.#opts.logger;
    return {
      clock: this.#opts.clock,
      onTimeMs: this.#opts.onTimeMs,
      frozen: (at) => isFrozen(this.#freeze, at),
      // An unreadable mark is treated as absent and logged: the next fire overwrites it. Throwing
      // instead would stop the schedule for good (every iteration would fail on it).
      lastFire: (id) =>
        this.#state.lastFire(id).catch((err: unknown) => {
          log.error({ err, schedule: id }, 'fire mark unreadable; treating it as absent');
          return null;
        }),
      recordFire: (id, at) => this.#state.recordFire(id, at),
      fire: (s, fireAt, opts) => this.#fire(s, fireAt, opts),
      skip: (s, d) => this.#skip(s, d),
      onError: (s, err) => log.error({ err, schedule: s.id }, 'schedule iteration failed; retrying'),
    };
  }

  async #fire(s: RunnerSchedule, fireAt: Date, opts: { catchUp: boolean; now: Date }): Promise<void> {
    const sc = s.schedule;
    const single = (reason: SkipReason, message?: string): Promise<void> =>
      this.#skip(s, { kind: 'skip', reason, from: fireAt, to: fireAt, count: 1, fireAts: [fireAt] }, message);
    const job = await this.#jobs.get(sc.job);
    if (!job) return single('job_missing');
    if (job.status === 'REVOKED') return single('job_revoked');
    const execId = fireExecId(s.id, fireAt);
    // A caught-up fire gets the full starting deadline from now, not from its (past) fire time.
    const lateMs = opts.catchUp ? Math.max(0, opts.now.getTime() - fireAt.getTime()) : 0;
    // The job may have changed since the schedule was applied (a --force apply, an edit): values
    // that no longer validate are a recorded skip naming the problem, not a failing retry loop.
    const checked = validateParams(job.manifest.params, sc.params);
    if (!checked.ok) return single('params_invalid', checked.problems.map(formatParamProblem).join('; '));
    let started;
    try {
      started = await startExecution(this.#opts.nc, {
        job,
        targets: sc.targets,
        trigger: {
          kind: 'schedule',
          actor: this.#opts.name,
          scheduleId: s.id,
          fireAt: fireAt.toISOString(),
          scheduleRevision: s.revision,
        },
        actor: { kind: 'scheduler', name: this.#opts.name },
        source: { via: 'scheduler' },
        deadlineMs: sc.startingDeadlineMs + lateMs,
        jitterMs: sc.jitterMs,
        overlap: sc.overlap,
        params: sc.params,
        execId,
        now: this.#opts.clock.now(),
      });
    } catch (err) {
      // Not stored (yet): a recorded skip naming it, like invalid params, not a retry loop.
      if (err instanceof MissingObjectError) return single('object_missing', err.message);
      throw err;
    }
    this.#opts.logger.info(
      {
        schedule: s.id,
        execId,
        fireAt: fireAt.toISOString(),
        catchUp: opts.catchUp,
        expected: started.expectedPcs.length,
      },
      'fired',
    );
  }

  async #skip(s: RunnerSchedule, d: SkipDecision, message?: string): Promise<void> {
    const first = d.from.toISOString();
    const range = d.count === 1 ? first : `${d.count} fires ${first} .. ${d.to.toISOString()}`;
    await publishAudit(
      this.#opts.nc,
      {
        // Deterministic: replicas recording the same skip publish one receipt.
        id: `schedule.skip-${fireExecId(s.id, d.from)}-${d.reason}`,
        actor: { kind: 'scheduler', name: this.#opts.name },
        action: 'schedule.skip',
        target: { kind: 'schedule', id: s.id },
        revisionBefore: s.revision,
        revisionAfter: s.revision,
        source: { via: 'scheduler' },
        summary: `skipped ${range} of schedule ${s.id} (${d.reason}${message ? `: ${message}` : ''})`.slice(
          0,
          300,
        ),
        details: {
          reason: d.reason,
          job: s.schedule.job,
          from: first,
          to: d.to.toISOString(),
          count: d.count,
          fireAts: d.fireAts.map((f) => f.toISOString()),
          ...(d.reason === 'frozen' && this.#freeze ? { freeze: this.#freeze } : {}),
          ...(message ? { message } : {}),
        },
      },
      this.#opts.clock.now(),
    );
    this.#opts.logger.info({ schedule: s.id, reason: d.reason, from: first, count: d.count }, 'skipped');
  }
}
