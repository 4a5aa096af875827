// Live updates as server-sent events. The hub subscribes to the stored subjects (results.>,
// events.>, obs.>, audit.>) as plain NATS subscribers (every JetStream publish is also a core
// message) and fans them out to the connected clients:
//   result  a result arrived        event  a timeline entry (obs event or run lifecycle)
//   agent   presence changed        audit  a receipt
//   run     an execution's counters changed (read from the read model)
// `run` is throttled per execution: a message marks the execution dirty; a ticker reads its row
// from the read model and sends it when the counters changed. An execution stays dirty for a few
// ticks after its last message, because this replica's projector applies the same message a
// little later than the hub sees it.
import type { ServerResponse } from 'node:http';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { parseAuditEvent, parseExecResult, parseObsEvent, parseRunEvent } from '../wire/index.js';
import type { Logger } from '../shared/logger.js';
import type { ReadModel } from './read-model.js';

export const LIVE_EVENTS = ['run', 'result', 'agent', 'event', 'audit'] as const;
export type LiveEvent = (typeof LIVE_EVENTS)[number];

/** Ticks an execution stays dirty after its last message. */
const DIRTY_TICKS = 12;
const KEEPALIVE_MS = 15_000;

type Client = { res: ServerResponse; topics: ReadonlySet<LiveEvent> };

export class LiveHub {
  #clients = new Set<Client>();
  #subs: Subscription[] = [];
  #dirty = new Map<string, number>();
  #sent = new Map<string, string>();
  #timers: NodeJS.Timeout[] = [];
  #started = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly readModel: ReadModel,
    private readonly throttleMs: number,
    private readonly logger: Logger,
  ) {}

  get clients(): number {
    return this.#clients.size;
  }

  /** Subscribes and starts the ticker; idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const on = (subject: string, fn: (data: Uint8Array, subject: string) => void) => {
      this.#subs.push(
        this.nc.subscribe(subject, {
          callback: (err, m) => {
            if (err) return this.logger.warn({ subject, err: err.message }, 'live subscription error');
            try {
              fn(m.data, m.subject);
            } catch (e) {
              this.logger.debug({ subject: m.subject, err: (e as Error).message }, 'live update skipped a malformed message');
            }
          },
        }),
      );
    }; // prettier-ignore
    on('results.>', (data) => {
      const r = parseExecResult(data);
      this.#markDirty(r.execId);
      this.#broadcast('result', {
        resultId: r.resultId, requestId: r.requestId, execId: r.execId, pcId: r.pcId, jobId: r.jobId,
        status: r.status, exitCode: r.exitCode, reason: r.reason ?? null, finishedAt: r.finishedAt, durationMs: r.durationMs,
      }); // prettier-ignore
    });
    on('events.>', (data) => {
      const e = parseRunEvent(data);
      this.#markDirty(e.execId);
      this.#broadcast('event', {
        pcId: e.pcId,
        kind: `run_${e.kind}`,
        at: e.at,
        id: e.id,
        execId: e.execId,
        jobId: e.jobId,
      });
    });
    on('obs.>', (data) => {
      const e = parseObsEvent(data);
      this.#broadcast('event', {
        pcId: e.pcId,
        kind: e.kind,
        at: e.at,
        id: e.id,
        source: e.source,
        details: e.payload ?? {},
      });
      if (e.kind === 'agent_online' || e.kind === 'agent_offline')
        this.#broadcast('agent', { pcId: e.pcId, online: e.kind === 'agent_online', at: e.at });
    });
    on('audit.>', (data) => {
      const a = parseAuditEvent(data);
      if (a.action === 'run.start') this.#markDirty(a.target.id);
      this.#broadcast('audit', a);
    });
    this.#timers.push(setInterval(() => this.#flush(), this.throttleMs));
    this.#timers.push(setInterval(() => this.#write(': keepalive\n\n'), KEEPALIVE_MS));
    for (const t of this.#timers) t.unref();
  }

  /** Takes over a response as an event stream of `topics` (default all) until the client leaves. */
  attach(res: ServerResponse, topics: ReadonlySet<LiveEvent> = new Set(LIVE_EVENTS)): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n: connected\n\n');
    const client = { res, topics };
    this.#clients.add(client);
    res.on('close', () => this.#clients.delete(client));
  }

  #markDirty(execId: string): void {
    this.#dirty.set(execId, DIRTY_TICKS);
  }

  #flush(): void {
    for (const [execId, ticks] of this.#dirty) {
      if (ticks <= 1) this.#dirty.delete(execId);
      else this.#dirty.set(execId, ticks - 1);
      let row;
      try {
        row = this.readModel.execution(execId);
      } catch (err) {
        this.logger.warn({ execId, err: (err as Error).message }, 'live update could not read an execution');
        continue;
      }
      if (!row) continue;
      const payload = JSON.stringify({ execId, jobId: row.jobId, status: row.status, counts: row.counts, startedAt: row.startedAt, finishedAt: row.finishedAt });
      if (this.#sent.get(execId) === payload) continue;
      this.#sent.set(execId, payload);
      if (this.#sent.size > 10_000) this.#sent.delete(this.#sent.keys().next().value!);
      this.#send('run', payload);
    }
  } // prettier-ignore

  #broadcast(event: LiveEvent, data: unknown): void {
    if (this.#clients.size > 0) this.#send(event, JSON.stringify(data));
  }

  #send(event: LiveEvent, json: string): void {
    const frame = `event: ${event}\ndata: ${json}\n\n`;
    for (const c of this.#clients) if (c.topics.has(event)) c.res.write(frame);
  }

  #write(frame: string): void {
    for (const c of this.#clients) c.res.write(frame);
  }

  /** Unsubscribes and ends every client's stream; idempotent. */
  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }
}
