// Live updates: one EventSource on /api/stream shared by every page. Pages subscribe to the event
// types they show (`run`, `result`, `agent`, `event`, `audit`) and refetch or patch on each.
import { useEffect, useRef, useState } from 'preact/hooks';

export type LiveType = 'run' | 'result' | 'agent' | 'event' | 'audit';
export const LIVE_TYPES: readonly LiveType[] = ['run', 'result', 'agent', 'event', 'audit'];
type Handler = (data: unknown) => void;

const handlers = new Map<LiveType, Set<Handler>>();
const statusListeners = new Set<(s: LiveStatus) => void>();
export type LiveStatus = 'connecting' | 'live' | 'offline';
let source: EventSource | null = null;
let status: LiveStatus = 'offline';

function setStatus(s: LiveStatus) {
  status = s;
  for (const fn of statusListeners) fn(s);
}

/** Opens the stream (after login). EventSource reconnects by itself after network errors. */
export function connectLive(): void {
  if (source || typeof EventSource === 'undefined') return;
  setStatus('connecting');
  const es = new EventSource('/api/stream', { withCredentials: true });
  source = es;
  es.onopen = () => setStatus('live');
  es.onerror = () => setStatus(es.readyState === EventSource.CLOSED ? 'offline' : 'connecting');
  for (const type of LIVE_TYPES) {
    es.addEventListener(type, (ev: MessageEvent<string>) => {
      let data: unknown = ev.data;
      try {
        data = JSON.parse(ev.data) as unknown;
      } catch {
        // A non-JSON payload is passed through as text.
      }
      for (const fn of handlers.get(type) ?? []) fn(data);
    });
  }
}

export function disconnectLive(): void {
  source?.close();
  source = null;
  setStatus('offline');
}

export function useLiveStatus(): LiveStatus {
  const [s, set] = useState(status);
  useEffect(() => {
    statusListeners.add(set);
    set(status);
    return () => void statusListeners.delete(set);
  }, []);
  return s;
}

/**
 * Calls `fn` for each live event of the given types. The latest `fn` is used without
 * resubscribing, so callers may pass inline closures.
 */
export function useLive(types: LiveType[], fn: (type: LiveType, data: unknown) => void): void {
  const ref = useRef(fn);
  ref.current = fn;
  const key = types.join(',');
  useEffect(() => {
    const subs: [LiveType, Handler][] = types.map((t) => [t, (d: unknown) => ref.current(t, d)]);
    for (const [t, h] of subs) {
      let set = handlers.get(t);
      if (!set) handlers.set(t, (set = new Set()));
      set.add(h);
    }
    return () => {
      for (const [t, h] of subs) handlers.get(t)?.delete(h);
    };
  }, [key]);
}

/** Coalesces bursts (a 500-pc execution sends 500 results): at most one call per `ms`. */
export function throttle(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending = false;
  return () => {
    if (timer) {
      pending = true;
      return;
    }
    fn();
    timer = setTimeout(function tick() {
      if (pending) {
        pending = false;
        fn();
        timer = setTimeout(tick, ms);
      } else timer = null;
    }, ms);
  };
}
