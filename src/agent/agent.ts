// The endpoint agent. This file is the agent's lifecycle and wiring (longer than most files because
// the ordering rules of DESIGN.md's "Agent rules" live together here, where they can be read as
// one story): journal before ack, ack before run, outbox before forgetting, skips as results.
// The pieces it wires (executor, journal, outbox, consumer, slots) are in their own files.
import { hostname as osHostname, arch as osArch, platform } from 'node:os';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  type Consumer,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import {
  BATON_OUT_EOF,
  BATON_OUT_SEQ,
  BATON_OUT_STREAM,
  MSG_ID,
  ctlSubject,
  encodeExecResultJson,
  encodeInventory,
  encodeObsEvent,
  encodeRunEvent,
  eventSubject,
  heartbeatSubject,
  inlineOutput,
  inventorySubject,
  obsSubject,
  objectOutput,
  outSubject,
  parseExecRequest,
  parseKillCommand,
  resultIdFor,
  resultSubject,
  runEventIdFor,
  RESERVED_JOB_ID,
  type AgentConfig,
  type ExecRequest,
  type ExecResultInput,
  type KillCommand,
  type RunEventKind,
} from '../wire/index.js';
import {
  AgentConfigStore,
  AgentDirectory,
  AgentReleaseStore,
  ArtifactStore,
  BUCKETS,
  OBJECT_STORES,
  STREAMS,
  agentInboxPrefix,
  consumerName,
  ensureExecConsumer,
  resultOutputKey,
  writeObject,
} from '../kv/index.js';
import { connectNatsPatiently } from '../shared/connect.js';
import type { Logger } from '../shared/logger.js';
import { packageVersion } from '../shared/paths.js';
import { BUILTIN_INVENTORY_INTERVAL_MS, collectBuiltinInventory } from './builtin-inventory.js';
import { CatalogCache } from './catalog-cache.js';
import { collectEmitted, type OutboxMessage } from './emitted.js';
import { executeScript, type ExecuteOutcome, type ExecuteSpec } from './executor.js';
import { FINISHED_RETENTION_MS, Journal } from './journal.js';

import { ObjectCache, RunRefusal, type PreparedRun } from './object-cache.js';
import type { CapturedStream } from './output-capture.js';
import { signalTree } from './process-tree.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { nextAttemptAt } from './retry.js';
import { SelfUpdater } from './self-update.js';
import { Slots } from './slots.js';

/** How often a running agent removes finished journal entries past FINISHED_RETENTION_MS. */
const JOURNAL_PRUNE_EVERY_MS = 60 * 60 * 1000;

/** Job id of `baton exec` inline scripts: not a catalog job, so pin and revocation do not apply. */
export const EXEC_JOB_ID = RESERVED_JOB_ID;
/** Live output per run is capped; the full output is always in the result. */
const LIVE_OUTPUT_CAP_BYTES = 4 * 1024 * 1024;
/** Delay before a request whose checks failed (broker unreachable) is processed again, doubling. */
const PROCESS_RETRY_MS = 1_000;
const MAX_PROCESS_RETRY_MS = 30_000;
/** Emitted messages published concurrently from one outbox entry. */
const EMIT_PUBLISH_WINDOW = 256;

export type AgentOptions = {
  pcId: string;
  servers: string | string[];
  /** Journal, outbox and per-run folders. */
  dataDir: string;
  /** The agent's own NATS credentials (from enrollment). Default none (an open server). */
  credsFile?: string;
  /** CA file to verify the server's TLS certificate with. Default none. */
  caFile?: string;
  /**
   * Create the agent's EXEC consumer and move its filters on group changes itself. Only possible
   * without an identity of its own: with enrolled credentials the platform does it and the agent
   * only binds (docs/security.md). Default: true without `credsFile`, false with it.
   */
  manageConsumer?: boolean;
  logger: Logger;
  /** Reported in heartbeats. Default the version in the package.json of the running code. */
  agentVersion?: string;
  /**
   * Self-update, when the agent runs under the launcher (`baton agent`): `restart` hands over to
   * the launcher once a release is staged (the caller then stops the agent and exits);
   * `updatedFrom` is the version the launcher just switched from (reported as `agent_updated`).
   * Default: no self-update (`target_version` is ignored).
   */
  selfUpdate?: { restart: (version: string) => void; updatedFrom?: string };
  /** Time running scripts get to finish on stop before they are killed. Default 30 s. */
  stopGraceMs?: number;
  /**
   * Runs one script. Default `executeScript` (a real child process tree). The fleet simulator
   * (test/bench) passes an in-process executor; everything else the agent does stays the same.
   */
  execute?: (spec: ExecuteSpec) => Promise<ExecuteOutcome>;
  /**
   * A connection to use instead of opening one (`servers` and `credsFile` are then ignored). The
   * agent does not own it: stop() leaves it open. Lets simulated agents share connections.
   * Default: the agent connects itself and drains its connection on stop.
   */
  nc?: NatsConnection;
  /**
   * How long one idle pull waits for a request before it is renewed. Default 30 s. A request is
   * delivered as soon as it is stored whatever this is; shorter only costs broker work per agent.
   */
  idlePullMs?: number;
  /**
   * Send the built-in inventory snapshot (os, kernel, cpu, memory, disks) at start and then
   * every `builtinInventoryIntervalMs`. Default true; the fleet simulator turns it off.
   */
  builtinInventory?: boolean;
  /** Time between built-in inventory snapshots. Default 24 h. */
  builtinInventoryIntervalMs?: number;
  /** How often finished journal entries past the redelivery window are removed. Default 1 h. */
  journalPruneEveryMs?: number;
  /**
   * The cache of the skip checks' catalog values to use, opened on `nc` (the agent does not own
   * it: stop() leaves it open). Lets simulated agents on one connection share one. Default: the
   * agent opens its own.
   */
  catalog?: CatalogCache;
};

/** Failures that say the broker is unreachable or slow: the outbox retries them forever. */
function isTransientPublishError(err: unknown): boolean {
  return /timeout|disconnect|closed|connection|no responders|503/i.test(
    String((err as Error)?.message ?? err),
  );
}

/**
 * The message when JetStream refused a publish for lack of space: a stream with discard `new` at
 * its `max_bytes`/`max_msgs`, or the server's JetStream storage exhausted. Else null.
 */
function storageRefusal(err: unknown): string | null {
  if (err === undefined || err === null) return null;
  const text = String((err as Error)?.message ?? err);
  return /maximum (bytes|messages)( per subject)? exceeded|insufficient (storage|resources)|storage (limit|full)|no space/i.test(
    text,
  )
    ? text
    : null;
}

/** Runs `fn` when `signal` aborts, or now when it already has (a listener added late never fires). */
function onAbort(signal: AbortSignal, fn: () => void): void {
  if (signal.aborted) fn();
  else signal.addEventListener('abort', fn, { once: true });
}

type Running = { request: ExecRequest; abort: AbortController; startedAt: string };

export class Agent {
  readonly pcId: string;
  readonly #opts: AgentOptions;
  readonly #log: Logger;
  readonly #journal: Journal;
  readonly #outbox: Outbox;
  readonly #cache: ObjectCache;
  readonly #running = new Map<string, Running>();
  /**
   * Requests being processed by this process (from a delivery, journal recovery or a pending
   * retry), counted: a retry is claimed before the delivery that ran the first attempt lets go.
   */
  readonly #claimed = new Map<string, number>();
  /** Consecutive failures to process a request before its script started (see #processOrRetry). */
  readonly #processFailures = new Map<string, number>();
  /** Set while results are refused because the stream is full (reported once per episode). */
  #blocked: string | null = null;
  readonly #tasks = new Set<Promise<void>>();
  readonly #stopping = new AbortController();
  /** Aborted by stop(): ends a start still waiting for the server. */
  readonly #connectWait = new AbortController();
  #nc: NatsConnection | null = null;
  #js!: JetStreamClient;
  #catalog: CatalogCache | null = null;
  #states!: KV;
  #configStore!: AgentConfigStore;
  #directory!: AgentDirectory;
  #config!: AgentConfig;
  #groups: string[] = [];
  #slots = new Slots(1);
  #ctlSubs: Subscription[] = [];
  #startedAt = new Date().toISOString();
  #flushWake: (() => void) | null = null;
  /** Set when a result was added to the outbox: the flush loop goes round again before it waits. */
  #flushAsked = false;
  #heartbeatWake = new AbortController();
  #pullTask: Promise<void> | null = null;
  #consumer: Consumer | null = null;
  #updater: SelfUpdater | null = null;
  readonly #agentVersion: string;
  #started: Promise<void> | null = null;
  #stopped: Promise<void> | null = null;

  constructor(opts: AgentOptions) {
    this.pcId = opts.pcId;
    this.#opts = opts;
    this.#log = opts.logger;
    const data = resolve(opts.dataDir);
    this.#journal = new Journal(join(data, 'journal'));
    this.#outbox = new Outbox(join(data, 'outbox'));
    // Stores are opened on first use: most requests carry inline scripts and no packages.
    this.#cache = new ObjectCache(join(data, 'cache'), (kind) => ArtifactStore.open(this.#nc!, kind));
    this.#agentVersion = opts.agentVersion ?? packageVersion();
  }

  get config(): AgentConfig {
    return this.#config;
  }

  get groups(): readonly string[] {
    return this.#groups;
  }

  /**
   * Resolves when the agent's own NATS connection closes for good while the agent is not stopping:
   * it reconnects forever otherwise, so this means the server refused its credentials (revoked,
   * expired). With the error the connection closed with. Never resolves for a passed-in `nc`.
   */
  async connectionLost(): Promise<Error> {
    await this.start();
    if (this.#opts.nc || !this.#nc) return new Promise<never>(() => undefined);
    const err = await this.#nc.closed();
    if (this.#stopping.signal.aborted) return new Promise<never>(() => undefined);
    return err ?? new Error('the NATS connection closed');
  }

  /** Connects, recovers from the journal, and starts taking work. Idempotent. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    await this.#journal.init();
    for (const q of await this.#outbox.init()) {
      this.#log.error(q, 'unreadable outbox entry moved to quarantine; its result is not published');
    }
    await mkdir(join(resolve(this.#opts.dataDir), 'work'), { recursive: true });
    // An endpoint may start offline (a laptop booting away from the network): the agent waits
    // for the server rather than exiting; stop() ends the wait.
    const nc =
      this.#opts.nc ??
      (await connectNatsPatiently(
        {
          servers: this.#opts.servers,
          name: `baton-agent:${this.pcId}`,
          longRunning: true,
          inboxPrefix: agentInboxPrefix(this.pcId),
          // Its errors carry their own context (subject, request id) in the log.
          asyncTraces: false,
          ...(this.#opts.credsFile ? { credsFile: this.#opts.credsFile } : {}),
          ...(this.#opts.caFile ? { caFile: this.#opts.caFile } : {}),
        },
        this.#connectWait.signal,
        (err, attempt, retryInMs) => {
          if (attempt === 1 || attempt % 10 === 0)
            this.#log.warn({ attempt, retryInMs, err: err.message }, 'NATS not reachable; waiting for it');
        },
      ));
    this.#nc = nc;
    this.#js = jetstream(nc);
    // Every read is a key-scoped direct get: all an enrolled agent's permissions allow.
    const kvm = new Kvm(nc);
    this.#catalog = this.#opts.catalog ?? (await CatalogCache.open(nc, this.#log));
    this.#states = await kvm.open(BUCKETS.agentsState, { allow_direct: true });
    this.#configStore = await AgentConfigStore.open(nc, { direct: true });
    this.#directory = await AgentDirectory.open(nc, { direct: true });
    this.#groups = (await this.#directory.groupsOf(this.pcId)).groups;
    await this.#applyConfig();
    await this.#ensureConsumer();
    this.#subscribeControl();
    await this.#recover();
    this.#pullTask = this.#spawn('pull', this.#pullLoop());
    void this.#spawn('flush', this.#flushLoop());
    void this.#spawn('follow-changes', this.#followChanges());
    await this.#obs(
      'agent_online',
      { agentVersion: this.#version(), groups: this.#groups },
      `${this.pcId}-online-${this.#startedAt}`,
    );
    // Heartbeats start after agent_online, so the projector sees the agent's own event before a
    // fresh heartbeat and does not report the same transition again from its side.
    void this.#spawn('heartbeat', this.#heartbeatLoop());
    void this.#spawn('journal-prune', this.#pruneLoop());
    if (this.#opts.builtinInventory ?? true) void this.#spawn('inventory', this.#inventoryLoop());
    if (this.#opts.selfUpdate) await this.#startSelfUpdate(this.#opts.selfUpdate);
    this.#log.info({ groups: this.#groups, config: this.#config }, 'agent started');
  }

  get #managesConsumer(): boolean {
    return this.#opts.manageConsumer ?? !this.#opts.credsFile;
  }

  /** Creates or re-filters the EXEC consumer when this agent manages it; else the platform does. */
  async #ensureConsumer(): Promise<void> {
    if (this.#managesConsumer)
      await ensureExecConsumer(await jetstreamManager(this.#nc!), this.pcId, this.#groups);
  }

  #version(): string {
    return this.#agentVersion;
  }

  async #startSelfUpdate(hooks: NonNullable<AgentOptions['selfUpdate']>): Promise<void> {
    if (hooks.updatedFrom) {
      await this.#obs(
        'agent_updated',
        { from: hooks.updatedFrom, to: this.#version() },
        `${this.pcId}-updated-${this.#startedAt}`,
      );
    }
    this.#updater = new SelfUpdater({
      pcId: this.pcId,
      version: this.#version(),
      dataDir: resolve(this.#opts.dataDir),
      releases: await AgentReleaseStore.open(this.#nc!),
      restart: hooks.restart,
      obs: (kind, payload, id) => this.#obs(kind, payload, id),
      changed: () => this.#heartbeatWake.abort(),
      logger: this.#log,
    });
    await this.#updater.start();
    this.#updater.apply(this.#config.targetVersion, this.#config.updateJitterMs);
  }

  #spawn(name: string, p: Promise<void>): Promise<void> {
    const task = p
      .then(() => this.#log.debug({ task: name }, 'agent task ended'))
      .catch((err: unknown) => {
        if (!this.#stopping.signal.aborted) this.#log.error({ err, task: name }, 'agent task failed');
      });
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
    return task;
  }

  // ---- config and groups -------------------------------------------------------------------

  async #applyConfig(): Promise<void> {
    const eff = await this.#configStore.effective(this.pcId, this.#groups);
    for (const bad of eff.invalid)
      this.#log.warn({ key: bad.key, error: bad.error }, 'agent config layer ignored');
    this.#config = eff.resolved;
    this.#slots.setLimit(this.#config.concurrency);
    this.#updater?.apply(this.#config.targetVersion, this.#config.updateJitterMs);
  }

  /**
   * Follows the agent's `agent_groups` key and the `agent_config` bucket. Not with KV watchers:
   * each watcher is an ephemeral consumer on the broker, two per agent, which is 20,000 consumers
   * for 10,000 endpoints (docs/benchmarks.md). Instead core subscriptions on the buckets' subjects
   * (`$KV.<bucket>.<key>`: every put and delete is published there) say "something changed", and
   * the agent re-reads what it needs. A core subscription misses what changed while the
   * connection was down, so the agent also re-reads after every reconnect, and once right after
   * subscribing (a change between the first read in start() and the subscription is not lost).
   * Bursts are coalesced: one re-read per burst.
   */
  async #followChanges(): Promise<void> {
    const nc = this.#nc!;
    const signal = this.#stopping.signal;
    let dirty = { groups: true, config: true };
    let wake = null as (() => void) | null;
    const mark = (which: 'groups' | 'config') => () => {
      dirty[which] = true;
      wake?.();
    };
    const subs = [
      nc.subscribe(`$KV.${BUCKETS.agentGroups}.${this.pcId}`, { callback: mark('groups') }),
      // The layers that apply to this pc (an enrolled agent may not read other pcs' layers).
      ...['global', `pcs.${this.pcId}`, 'groups.*'].map((key) =>
        nc.subscribe(`$KV.${BUCKETS.agentConfig}.${key}`, { callback: mark('config') }),
      ),
    ];
    const status = nc.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
    void this.#spawn(
      'reconnects',
      (async () => {
        for await (const s of status) {
          if (s.type !== 'reconnect') continue;
          dirty = { groups: true, config: true };
          wake?.();
        }
      })(),
    );
    onAbort(signal, () => {
      status.stop?.();
      wake?.();
    });
    try {
      while (!signal.aborted) {
        if (!dirty.groups && !dirty.config) {
          await new Promise<void>((resolveWait) => (wake = resolveWait));
          wake = null;
          continue;
        }
        const changed = dirty;
        dirty = { groups: false, config: false };
        try {
          if (changed.groups) await this.#refreshGroups();
          if (changed.config) await this.#refreshConfig();
        } catch (err) {
          if (signal.aborted) return;
          this.#log.warn({ err }, 'reading groups or config failed; retrying');
          dirty = { groups: dirty.groups || changed.groups, config: dirty.config || changed.config };
          await delay(1_000, undefined, { signal }).catch(() => undefined);
        }
      }
    } finally {
      for (const s of subs) s.unsubscribe();
    }
  }

  async #refreshConfig(): Promise<void> {
    const before = JSON.stringify(this.#config);
    await this.#applyConfig();
    if (JSON.stringify(this.#config) !== before) {
      this.#log.info({ config: this.#config }, 'agent config changed');
      this.#heartbeatWake.abort(); // a new heartbeat interval applies now, not after the old one
    }
  }

  async #refreshGroups(): Promise<void> {
    const groups = (await this.#directory.groupsOf(this.pcId)).groups;
    if (JSON.stringify(groups) === JSON.stringify(this.#groups)) return;
    this.#groups = groups;
    await this.#ensureConsumer();
    this.#consumer = null; // its filters changed: fetch it again
    this.#subscribeControl();
    await this.#refreshConfig();
    this.#log.info({ groups }, 'agent groups changed');
  }

  // ---- control: kill ------------------------------------------------------------------------

  #subscribeControl(): void {
    for (const s of this.#ctlSubs) s.unsubscribe();
    const nc = this.#nc!;
    const scopes = [
      { kind: 'pc' as const, pcId: this.pcId },
      { kind: 'all' as const },
      ...this.#groups.map((group) => ({ kind: 'group' as const, group })),
    ];
    this.#ctlSubs = scopes.map((scope) =>
      nc.subscribe(ctlSubject(scope, 'kill'), {
        callback: (err, msg) => {
          if (err) return void this.#log.warn({ err }, 'kill subscription failed');
          // Validated here: an exception thrown from this callback would stop the connection reading.
          let target: KillCommand;
          try {
            target = parseKillCommand(msg.data);
          } catch (bad) {
            this.#log.warn(
              { subject: msg.subject, err: (bad as Error).message },
              'malformed kill command ignored',
            );
            return;
          }
          let killed = 0;
          for (const r of this.#running.values()) {
            if (
              (target.execId && r.request.execId === target.execId) ||
              (target.requestId && r.request.requestId === target.requestId)
            ) {
              r.abort.abort();
              killed++;
            }
          }
          if (msg.reply) msg.respond(JSON.stringify({ pcId: this.pcId, killed }));
        },
      }),
    );
    // ping answers with the agent's state, for `baton agents ping`.
    this.#ctlSubs.push(
      nc.subscribe(ctlSubject({ kind: 'pc', pcId: this.pcId }, 'ping'), {
        callback: (err, msg) => {
          if (err) return void this.#log.warn({ err }, 'ping subscription failed');
          msg.respond(JSON.stringify({ pcId: this.pcId, running: this.#running.size }));
        },
      }),
    );
  }

  // ---- taking work --------------------------------------------------------------------------

  async #pullLoop(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      try {
        await this.#slots.acquire(signal);
      } catch {
        return;
      }
      let msg: JsMsg | null = null;
      try {
        // Looked up once (a lookup is a consumer-info request), again after an error.
        this.#consumer ??= await this.#js.consumers.get(STREAMS.exec, consumerName(this.pcId));
        msg = await this.#consumer.next({ expires: this.#opts.idlePullMs ?? 30_000 });
      } catch (err) {
        this.#slots.release();
        this.#consumer = null;
        if (signal.aborted) return;
        this.#log.warn({ err }, 'pulling requests failed; retrying');
        await delay(1_000, undefined, { signal }).catch(() => undefined);
        if (/not found/i.test((err as Error).message)) {
          await this.#ensureConsumer().catch((e: unknown) =>
            this.#log.warn({ err: e }, 'creating the exec consumer failed; retrying'),
          );
        }
        continue;
      }
      if (!msg) {
        this.#slots.release();
        continue;
      }
      const m = msg;
      void this.#spawn(
        'request',
        this.#onMessage(m).finally(() => this.#slots.release()),
      );
    }
  }

  async #onMessage(m: JsMsg): Promise<void> {
    let request: ExecRequest;
    try {
      request = parseExecRequest(m.data);
    } catch (err) {
      // Garbage on an exec subject: record it, ack it (term), never let it pin the consumer.
      await this.#obs(
        'invalid_request',
        { subject: m.subject, seq: m.seq, error: (err as Error).message.slice(0, 500) },
        `${this.pcId}-invalid-${m.seq}`,
      );
      m.term();
      return;
    }
    const known = await this.#journal.get(request.requestId);
    if (
      (known && (known.state !== 'accepted' || known.attempt > 1)) ||
      this.#claimed.has(request.requestId)
    ) {
      m.ack(); // a redelivery of a request this agent already ran, runs or retries: never twice
      return;
    }
    this.#claim(request.requestId);
    try {
      if (!known)
        await this.#journal.put({ request, state: 'accepted', acceptedAt: new Date().toISOString() });
      await this.#ackConfirmed(m);
      await this.#processOrRetry(request, 1);
    } finally {
      this.#unclaim(request.requestId);
    }
  }

  #claim(requestId: string): void {
    this.#claimed.set(requestId, (this.#claimed.get(requestId) ?? 0) + 1);
  }

  #unclaim(requestId: string): void {
    const n = (this.#claimed.get(requestId) ?? 1) - 1;
    if (n > 0) this.#claimed.set(requestId, n);
    else this.#claimed.delete(requestId);
  }

  /**
   * Runs `attempt` of an accepted request in its own task: after `notBefore` (a retry's backoff),
   * in a concurrency slot. Stopping while it waits leaves the journal at `accepted`, so the attempt
   * runs after a restart.
   */
  #scheduleAttempt(request: ExecRequest, attempt: number, notBefore?: string): void {
    this.#claim(request.requestId);
    void this.#spawn(
      attempt > 1 ? 'retry' : 'recovered-request',
      (async () => {
        try {
          const waitMs = notBefore ? Date.parse(notBefore) - Date.now() : 0;
          if (waitMs > 0) await delay(waitMs, undefined, { signal: this.#stopping.signal });
          await this.#slots.acquire(this.#stopping.signal);
        } catch {
          this.#unclaim(request.requestId);
          return; // stopping
        }
        try {
          await this.#processOrRetry(request, attempt);
        } finally {
          this.#slots.release();
          this.#unclaim(request.requestId);
        }
      })(),
    );
  }

  async #ackConfirmed(m: JsMsg): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await m.ackAck({ timeout: 5_000 });
        return;
      } catch (err) {
        this.#log.warn({ err, requestId: m.subject }, 'ack not confirmed; retrying');
      }
    }
    // Still unconfirmed: the journal entry makes a redelivery harmless.
  }

  async #skipReason(r: ExecRequest): Promise<string | null> {
    if (Date.parse(r.deadlineAt) < Date.now()) return 'deadline_passed';
    if (r.jobId === EXEC_JOB_ID && r.trigger.kind === 'adhoc') return null;
    const catalog = this.#catalog!; // set by start(), before any request is taken
    const status = await catalog.status(r.jobId);
    if (status === null || status === 'REVOKED') return 'revoked'; // revoked, deleted or unknown
    const pin = await catalog.pin(r.jobId);
    if (pin !== null && pin !== r.jobVersion) return 'version_superseded';
    return null;
  }

  /**
   * #process, and when it fails before the script started (the skip checks read KV, which fails
   * while the broker is unreachable), the same attempt again a little later: the request is
   * journaled and acked, so nothing else would ever run or report it until a restart. Once the
   * journal says `started`, a failure is left to the restart path (it reports the interruption).
   */
  async #processOrRetry(request: ExecRequest, attempt: number): Promise<void> {
    try {
      await this.#process(request, attempt);
    } catch (err) {
      if (this.#stopping.signal.aborted) return;
      const entry = await this.#journal.get(request.requestId).catch(() => null);
      if (entry?.state !== 'accepted' || entry.attempt !== attempt) {
        this.#processFailures.delete(request.requestId);
        throw err;
      }
      // 1 s doubling to 30 s, per request: a lasting failure (not only a broker restart) is
      // retried without flooding the log or the broker.
      const failures = (this.#processFailures.get(request.requestId) ?? 0) + 1;
      this.#processFailures.set(request.requestId, failures);
      const waitMs = Math.min(MAX_PROCESS_RETRY_MS, PROCESS_RETRY_MS * 2 ** (failures - 1));
      this.#log.warn(
        { err, requestId: request.requestId, attempt, failures },
        'request not processed; trying again',
      );
      this.#scheduleAttempt(request, attempt, new Date(Date.now() + waitMs).toISOString());
      return;
    }
    this.#processFailures.delete(request.requestId);
  }

  async #process(request: ExecRequest, attempt: number): Promise<void> {
    const skip = await this.#skipReason(request);
    if (skip) {
      this.#event('skipped', request, skip);
      await this.#finish(request, this.#skippedResult(request, attempt, skip), []);
      return;
    }
    const sameJob = [...this.#running.values()].filter((r) => r.request.jobId === request.jobId);
    if (sameJob.length > 0 && request.overlap === 'skip') {
      this.#event('skipped', request, 'already_running');
      await this.#finish(request, this.#skippedResult(request, attempt, 'already_running'), []);
      return;
    }
    if (request.overlap === 'cancel_previous') for (const r of sameJob) r.abort.abort();
    this.#event('accepted', request);
    if (request.jitterMs > 0 && attempt === 1) {
      const wait = Math.floor(Math.random() * request.jitterMs);
      try {
        await delay(wait, undefined, { signal: this.#stopping.signal });
      } catch {
        return; // stopping: the journal still says accepted, so it runs after restart
      }
    }
    await this.#run(request, attempt);
  }

  async #run(request: ExecRequest, attempt: number): Promise<void> {
    const abort = new AbortController();
    const startedAt = new Date().toISOString();
    this.#running.set(request.requestId, { request, abort, startedAt });
    const workDir = join(resolve(this.#opts.dataDir), 'work', request.requestId);
    // Script object and packages before the journal says started: a crash while fetching leaves
    // the request accepted, so it is fetched and run after restart (nothing ran yet).
    let prepared: PreparedRun;
    try {
      prepared = await this.#cache.prepare(request, workDir, abort.signal);
    } catch (err) {
      this.#running.delete(request.requestId);
      await rm(workDir, { recursive: true, force: true });
      if (this.#stopping.signal.aborted) return; // still accepted in the journal: runs after restart
      const refusal =
        err instanceof RunRefusal
          ? err
          : new RunRefusal('fetch_failed', `cannot prepare the run: ${(err as Error).message}`, {
              cause: err,
            });
      this.#log.warn(
        { requestId: request.requestId, reason: refusal.reason, err },
        'run refused before start',
      );
      await this.#finish(request, this.#refusedResult(request, attempt, refusal), []);
      return;
    }
    // The entry exists (accepted, by the delivery, the recovery or the retry that led here).
    await this.#journal.update(request.requestId, { state: 'started', attempt, startedAt });
    this.#event('started', request);
    let outcome: ExecuteOutcome;
    try {
      outcome = await (this.#opts.execute ?? executeScript)({
        shell: request.script.shell,
        body: prepared.body,
        workDir,
        ...(request.cwd ? { cwd: request.cwd } : {}),
        env: { ...this.#scriptEnv(request, attempt), ...prepared.env },
        timeoutMs: request.timeoutMs,
        maxOutputBytes: this.#config.maxOutputBytes,
        killGraceMs: this.#config.killGraceMs,
        signal: abort.signal,
        onSpawn: (pid) => void this.#journal.update(request.requestId, { pid }).catch(() => undefined),
        onChunk: this.#config.liveOutput ? this.#liveOutput(request) : undefined,
      });
    } finally {
      this.#running.delete(request.requestId);
    }
    const resultId = resultIdFor(request.requestId, this.pcId, attempt);
    // Read before the spill file moves into the outbox; what it yields goes into the same entry.
    const emit = request.emit
      ? await collectEmitted({
          mode: request.emit,
          pcId: this.pcId,
          requestId: request.requestId,
          jobId: request.jobId,
          at: outcome.finishedAt.toISOString(),
          inline: outcome.stdout.inline,
          spillFile: outcome.stdout.spillFile,
        })
      : undefined;
    const uploads: { name: string; file: string }[] = [];
    const stream = async (c: CapturedStream, which: 'stdout' | 'stderr') => {
      if (!c.spillFile) return { ...inlineOutput(c.inline), ...(c.dropped ? { dropped: c.dropped } : {}) };
      const name = resultOutputKey(request.requestId, this.pcId, which);
      const file = this.#outbox.spillPath(resultId, which);
      await rename(c.spillFile, file);
      uploads.push({ name, file });
      return {
        ...objectOutput(c.bytes, c.sha256, { bucket: OBJECT_STORES.resultOutput, name }),
        ...(c.dropped ? { dropped: c.dropped } : {}),
      };
    };
    const retryAt = nextAttemptAt(request, attempt, outcome.status, outcome.reason, new Date());
    const result: ExecResultInput = {
      ...this.#resultBase(request, attempt),
      status: outcome.status,
      exitCode: outcome.exitCode,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      stdout: await stream(outcome.stdout, 'stdout'),
      stderr: await stream(outcome.stderr, 'stderr'),
      startedAt: outcome.startedAt.toISOString(),
      finishedAt: outcome.finishedAt.toISOString(),
      durationMs: outcome.durationMs,
      ...(emit ? { emitted: emit.emitted } : {}),
      ...(retryAt ? { retryAt: retryAt.toISOString() } : {}),
    };
    await this.#finish(request, result, uploads, emit?.messages ?? []);
    await rm(workDir, { recursive: true, force: true });
  }

  #scriptEnv(r: ExecRequest, attempt: number): Record<string, string> {
    // Only what the run adds: the executor puts it on top of the agent's environment where the
    // child needs it (process.env is slow to enumerate; the simulator's executor never does).
    const env: Record<string, string> = { ...r.env };
    Object.assign(env, {
      BATON_PC_ID: this.pcId,
      BATON_JOB_ID: r.jobId,
      BATON_JOB_VERSION: r.jobVersion,
      BATON_EXEC_ID: r.execId,
      BATON_REQUEST_ID: r.requestId,
      BATON_ATTEMPT: String(attempt),
    });
    for (const [k, v] of Object.entries(r.params ?? {})) env[`BATON_PARAM_${k.toUpperCase()}`] = v;
    return env;
  }

  #liveOutput(r: ExecRequest): (stream: 'stdout' | 'stderr', chunk: Buffer) => void {
    const subject = outSubject(this.pcId, r.requestId);
    let seq = 0;
    let sent = 0;
    return (stream, chunk) => {
      if (sent >= LIVE_OUTPUT_CAP_BYTES || !this.#nc || this.#nc.isClosed()) return;
      const h = headers();
      h.set(BATON_OUT_STREAM, stream);
      h.set(BATON_OUT_SEQ, String(++seq));
      const part = chunk.subarray(0, LIVE_OUTPUT_CAP_BYTES - sent);
      sent += part.length;
      if (sent >= LIVE_OUTPUT_CAP_BYTES) h.set(BATON_OUT_EOF, 'cap');
      this.#nc.publish(subject, part, { headers: h });
    };
  }

  /** Results of jobs with a retry policy say which attempt they report; others stay as they were. */
  #resultBase(r: ExecRequest, attempt: number) {
    return {
      v: 1 as const,
      resultId: resultIdFor(r.requestId, this.pcId, attempt),
      requestId: r.requestId,
      execId: r.execId,
      pcId: this.pcId,
      jobId: r.jobId,
      jobVersion: r.jobVersion,
      ...(r.retry || attempt > 1 ? { attempt } : {}),
    };
  }

  /** A run refused before its script started: nothing ran; stderr says why. */
  #refusedResult(r: ExecRequest, attempt: number, refusal: RunRefusal): ExecResultInput {
    return {
      ...this.#skippedResult(r, attempt, refusal.reason),
      status: refusal.reason === 'killed' ? 'killed' : 'error',
      stderr: inlineOutput(new TextEncoder().encode(`baton: ${refusal.message}; nothing ran\n`)),
    };
  }

  #skippedResult(r: ExecRequest, attempt: number, reason: string): ExecResultInput {
    const empty = inlineOutput(new Uint8Array());
    return {
      ...this.#resultBase(r, attempt),
      status: 'skipped',
      exitCode: null,
      reason,
      stdout: empty,
      stderr: empty,
      finishedAt: new Date().toISOString(),
      durationMs: 0,
    };
  }

  /**
   * Result into the outbox (durable), then the journal says finished, or, when the result carries
   * `retryAt`, accepted again for the next attempt (which is scheduled); then deliver.
   */
  async #finish(
    r: ExecRequest,
    result: ExecResultInput,
    uploads: { name: string; file: string }[],
    messages: OutboxMessage[] = [],
  ): Promise<void> {
    await this.#outbox.add({
      resultId: result.resultId,
      requestId: result.requestId,
      // Encoded once: validates (a malformed result fails here, loudly), and is both what the
      // outbox file holds and what is published.
      result: encodeExecResultJson(result),
      uploads,
      messages,
      attempts: 0,
    });
    try {
      await this.#afterResult(r, result.attempt ?? 1, result.retryAt);
    } finally {
      // The result is in the outbox: deliver it even if the journal step failed.
      this.#flushAsked = true;
      this.#flushWake?.();
    }
  }

  /** The journal step after an attempt's result is in the outbox: finished, or the next attempt. */
  async #afterResult(r: ExecRequest, attempt: number, retryAt: string | undefined): Promise<void> {
    const prev = await this.#journal.get(r.requestId);
    const acceptedAt = prev?.acceptedAt ?? new Date().toISOString();
    if (retryAt === undefined) {
      const finishedAt = new Date().toISOString();
      if (prev) await this.#journal.update(r.requestId, { state: 'finished', finishedAt });
      else await this.#journal.put({ request: r, acceptedAt, state: 'finished', finishedAt });
      return;
    }
    const next = attempt + 1;
    await this.#journal.put({ request: r, state: 'accepted', acceptedAt, attempt: next, notBefore: retryAt });
    this.#log.info({ requestId: r.requestId, jobId: r.jobId, attempt: next, retryAt }, 'run will be retried');
    this.#scheduleAttempt(r, next, retryAt);
  }

  // ---- after a crash --------------------------------------------------------------------------

  async #recover(): Promise<void> {
    const { entries, unreadable } = await this.#journal.all();
    for (const f of unreadable) this.#log.error({ file: f }, 'unreadable journal entry left in place');
    for (const e of entries) {
      const r = e.request;
      if (e.state === 'finished') {
        if (Date.now() - Date.parse(e.finishedAt ?? e.acceptedAt) > FINISHED_RETENTION_MS)
          await this.#journal.remove(r.requestId);
        continue;
      }
      if (e.state === 'started') {
        const done = this.#outbox.get(resultIdFor(r.requestId, this.pcId, e.attempt));
        if (done) {
          // The attempt ended and its result is in the outbox; the crash came before the journal
          // step after it. Take that step now (the result says whether a retry follows).
          const retryAt = (JSON.parse(done.result) as { retryAt?: unknown }).retryAt;
          await this.#afterResult(r, e.attempt, typeof retryAt === 'string' ? retryAt : undefined);
          continue;
        }
        if (e.pid) {
          signalTree(e.pid, 'SIGKILL'); // an orphan of the crashed agent must not run on unobserved
        }
        const empty = inlineOutput(new Uint8Array());
        const now = new Date();
        const retryAt = nextAttemptAt(r, e.attempt, 'error', 'agent_restarted', now);
        this.#log.warn(
          { requestId: r.requestId, jobId: r.jobId, attempt: e.attempt, retry: retryAt !== null },
          'run interrupted by an agent restart; reporting it',
        );
        await this.#finish(
          r,
          {
            ...this.#resultBase(r, e.attempt),
            status: 'error',
            exitCode: null,
            reason: 'agent_restarted',
            stdout: empty,
            stderr: empty,
            ...(e.startedAt ? { startedAt: e.startedAt } : {}),
            finishedAt: now.toISOString(),
            durationMs: 0,
            ...(retryAt ? { retryAt: retryAt.toISOString() } : {}),
          },
          [],
        );
        continue;
      }
      // accepted, never started: run it now (this attempt ran zero times, so this is its one run);
      // a retry waits for its backoff first.
      this.#scheduleAttempt(r, e.attempt, e.notBefore);
    }
  }

  // ---- delivering results -----------------------------------------------------------------------

  async #deliver(entry: OutboxEntry): Promise<void> {
    for (const u of entry.uploads) {
      await writeObject(this.#js, OBJECT_STORES.resultOutput, u.name, createReadStream(u.file));
    }
    // Emitted messages first, so whoever sees the result can already find them; in windows, each
    // message deduplicated by its id when a failed delivery is retried.
    for (let i = 0; i < entry.messages.length; i += EMIT_PUBLISH_WINDOW) {
      await Promise.all(
        entry.messages
          .slice(i, i + EMIT_PUBLISH_WINDOW)
          .map((m) => this.#js.publish(m.subject, m.data, { msgID: m.msgId })),
      );
    }
    await this.#js.publish(resultSubject(this.pcId, entry.requestId), entry.result, {
      msgID: entry.resultId,
      expect: { streamName: STREAMS.results },
    });
  }

  async #flushLoop(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      this.#flushAsked = false;
      const { retryInMs, remaining, delivered, transientError } = await this.#outbox.flushOnce({
        deliver: (e) => this.#deliver(e),
        isTransient: (err) => isTransientPublishError(err) || storageRefusal(err) !== null,
        onQuarantine: async (e, err) => {
          this.#log.error({ resultId: e.resultId, err }, 'result quarantined after repeated failures');
          await this.#obs(
            'result_quarantined',
            { resultId: e.resultId, error: String((err as Error)?.message ?? err).slice(0, 500) },
            `${this.pcId}-quarantine-${e.resultId}`,
          );
        },
      });
      if (signal.aborted) return; // an abort that fired during flushOnce must not be waited for
      await this.#reportBlocked(storageRefusal(transientError), remaining, delivered);
      // A result added while this round ran (after it took its list) goes now, not after the wait.
      if (this.#flushAsked && retryInMs === 0) continue;
      await new Promise<void>((resolveWait) => {
        const t = setTimeout(done, retryInMs || 60_000);
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolveWait();
        }
        this.#flushWake = done;
        signal.addEventListener('abort', done, { once: true });
      });
      this.#flushWake = null;
    }
  }

  /**
   * A full stream (or JetStream storage) refuses results: they stay in the outbox and are retried
   * like any transient failure, and the condition is reported once when it starts
   * (`outbox_blocked`: log and ObsEvent) and once when deliveries go through again
   * (`outbox_unblocked`), never per retry.
   */
  async #reportBlocked(refusal: string | null, pending: number, delivered: number): Promise<void> {
    if (refusal !== null && this.#blocked === null) {
      this.#blocked = refusal;
      this.#log.warn({ error: refusal, pending }, 'results refused by JetStream storage; kept in the outbox');
      await this.#obs(
        'outbox_blocked',
        { reason: 'storage_full', error: refusal.slice(0, 500), pending },
        `${this.pcId}-outbox-blocked-${Date.now()}`,
      );
    } else if (refusal === null && this.#blocked !== null && (delivered > 0 || pending === 0)) {
      this.#log.info({ delivered, pending }, 'results delivered again after storage was full');
      this.#blocked = null;
      await this.#obs(
        'outbox_unblocked',
        { delivered, pending },
        `${this.pcId}-outbox-unblocked-${Date.now()}`,
      );
    }
  }

  // ---- presence and events ----------------------------------------------------------------------

  async #heartbeatLoop(): Promise<void> {
    const signal = this.#stopping.signal;
    let seq = 0;
    while (!signal.aborted) {
      const now = new Date().toISOString();
      const state = {
        v: 1 as const,
        pcId: this.pcId,
        hostname: osHostname(),
        os: platform(),
        arch: osArch(),
        agentVersion: this.#version(),
        groups: this.#groups,
        startedAt: this.#startedAt,
        ...(this.#updater?.state ? { update: this.#updater.state } : {}),
        running: [...this.#running.values()].map((r) => ({
          requestId: r.request.requestId,
          execId: r.request.execId,
          jobId: r.request.jobId,
          startedAt: r.startedAt,
        })),
      };
      try {
        await this.#states.put(this.pcId, JSON.stringify({ ...state, lastSeenAt: now }));
        this.#nc?.publish(heartbeatSubject(this.pcId), JSON.stringify({ ...state, at: now, seq: seq++ }));
      } catch (err) {
        this.#log.warn({ err }, 'heartbeat failed');
      }
      this.#heartbeatWake = new AbortController();
      const wake = AbortSignal.any([signal, this.#heartbeatWake.signal]);
      await delay(this.#config.heartbeatIntervalMs, undefined, { signal: wake }).catch(() => undefined);
    }
  }

  /**
   * Forgets finished journal entries once the redelivery window is over, every hour: recovery at
   * start does it too, but an agent that runs for weeks would otherwise keep one file (and one
   * index entry) per request it ever ran.
   */
  async #pruneLoop(): Promise<void> {
    const signal = this.#stopping.signal;
    const every = this.#opts.journalPruneEveryMs ?? JOURNAL_PRUNE_EVERY_MS;
    while (!signal.aborted) {
      await delay(every, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      try {
        const removed = await this.#journal.pruneFinished(Date.now() - FINISHED_RETENTION_MS);
        if (removed > 0) this.#log.debug({ removed }, 'finished journal entries pruned');
      } catch (err) {
        this.#log.warn({ err }, 'cannot prune the journal; trying again in an hour');
      }
    }
  }

  /** The built-in snapshot now and every interval; a failed publish is retried after a minute. */
  async #inventoryLoop(): Promise<void> {
    const signal = this.#stopping.signal;
    const interval = this.#opts.builtinInventoryIntervalMs ?? BUILTIN_INVENTORY_INTERVAL_MS;
    while (!signal.aborted) {
      let wait = interval;
      const at = new Date();
      const id = `inv.builtin.${this.pcId}.${at.getTime()}`;
      try {
        const data = await collectBuiltinInventory(resolve(this.#opts.dataDir));
        const msg = encodeInventory({
          v: 1,
          id,
          pcId: this.pcId,
          at: at.toISOString(),
          source: 'builtin',
          data: data as never,
        });
        await this.#js.publish(inventorySubject(this.pcId), msg, { msgID: id });
      } catch (err) {
        if (signal.aborted) return;
        this.#log.warn({ err }, 'built-in inventory not published; retrying');
        wait = Math.min(interval, 60_000);
      }
      await delay(wait, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * Publishes a run event without waiting for JetStream's acknowledgement: nothing waits for an
   * event (the result, which settles the run, is published and acknowledged through the outbox),
   * and waiting costs a request per event (a reply entry, a timer, error objects). On one connection
   * an event still reaches the stream before the result that follows it; `Nats-Msg-Id`
   * deduplicates it like any publish.
   */
  #event(kind: RunEventKind, r: ExecRequest, reason?: string): void {
    const id = runEventIdFor(r.requestId, this.pcId, kind);
    try {
      const data = encodeRunEvent({
        v: 1,
        id,
        at: new Date().toISOString(),
        pcId: this.pcId,
        requestId: r.requestId,
        execId: r.execId,
        jobId: r.jobId,
        kind,
        ...(reason ? { reason } : {}),
      });
      const h = headers();
      h.set(MSG_ID, id);
      this.#nc!.publish(eventSubject(this.pcId, kind), data, { headers: h });
    } catch (err) {
      this.#log.warn(
        { err, kind, requestId: r.requestId },
        'run event not published (the result still will be)',
      );
    }
  }

  async #obs(kind: string, payload: Record<string, unknown>, id: string): Promise<void> {
    try {
      const data = encodeObsEvent({
        v: 1,
        id,
        pcId: this.pcId,
        at: new Date().toISOString(),
        kind,
        source: 'agent',
        payload: payload as never,
      });
      await this.#js.publish(obsSubject(this.pcId), data, { msgID: id });
    } catch (err) {
      this.#log.warn({ err, kind }, 'obs event not published');
    }
  }

  // ---- stopping -------------------------------------------------------------------------------

  /**
   * Stops taking work, lets running scripts finish within the grace period, then kills what is
   * left (reported as killed), delivers the outbox once more and drains the connection.
   * `graceMs` overrides `stopGraceMs` (a restart into a new release lets scripts run to their end).
   * Idempotent: the first call's grace applies.
   */
  stop(opts: { graceMs?: number } = {}): Promise<void> {
    this.#stopped ??= this.#stop(opts.graceMs ?? this.#opts.stopGraceMs ?? 30_000);
    return this.#stopped;
  }

  async #stop(grace: number): Promise<void> {
    this.#connectWait.abort();
    await this.#started?.catch(() => undefined);
    this.#stopping.abort();
    await this.#updater?.stop();
    const deadline = Date.now() + grace;
    while (this.#running.size > 0 && Date.now() < deadline) await delay(50);
    for (const r of this.#running.values()) r.abort.abort();
    // An idle pull (waiting in next()) is not awaited: a request it receives now stays unacked and
    // is redelivered after restart. Every request being handled is awaited.
    await Promise.allSettled([...this.#tasks].filter((t) => t !== this.#pullTask));
    if (this.#nc && !this.#nc.isClosed()) {
      await this.#outbox
        .flushOnce({ deliver: (e) => this.#deliver(e), isTransient: () => true, onQuarantine: () => {} })
        .catch(() => undefined);
      await this.#obs('agent_offline', { reason: 'stopped' }, `${this.pcId}-offline-${this.#startedAt}`);
      for (const s of this.#ctlSubs) s.unsubscribe();
    }
    if (!this.#opts.catalog) await this.#catalog?.stop();
    if (this.#nc && !this.#nc.isClosed() && !this.#opts.nc) await this.#nc.drain().catch(() => undefined);
    this.#log.info({}, 'agent stopped');
  }
}
