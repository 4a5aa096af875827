// Data loading for pages: useApi fetches on mount and when its key changes, and can be reloaded
// (by live events, say) without flashing an empty page.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export type Loaded<T> = {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
  set: (fn: (prev: T | undefined) => T | undefined) => void;
};

export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, key: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const keyStr = JSON.stringify(key);
  const lastKey = useRef(keyStr);

  useEffect(() => {
    const ac = new AbortController();
    if (lastKey.current !== keyStr) {
      // A different object: do not show the previous one's data meanwhile.
      lastKey.current = keyStr;
      setData(undefined);
    }
    setLoading(true);
    loadRef
      .current(ac.signal)
      .then((d) => {
        if (ac.signal.aborted) return;
        setData(d);
        setError(undefined);
      })
      .catch((err: unknown) => {
        if (ac.signal.aborted) return;
        setError(err instanceof ApiError ? err : new ApiError(0, 'client', (err as Error).message));
      })
      .finally(() => {
        if (!ac.signal.aborted) setLoading(false);
      });
    return () => ac.abort();
  }, [keyStr, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, set: setData };
}

/** Keyboard shortcut: a key sequence such as 'g a' or a single key such as '/'. */
export function useShortcuts(map: Record<string, () => void>): void {
  const ref = useRef(map);
  ref.current = map;
  useEffect(() => {
    let prefix = '';
    let timer: ReturnType<typeof setTimeout> | undefined;
    const on = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      const seq = prefix ? `${prefix} ${e.key}` : e.key;
      const fn = ref.current[seq];
      if (fn) {
        e.preventDefault();
        prefix = '';
        fn();
        return;
      }
      if (Object.keys(ref.current).some((k) => k.startsWith(`${seq} `))) {
        prefix = seq;
        clearTimeout(timer);
        timer = setTimeout(() => (prefix = ''), 1200);
      } else prefix = '';
    };
    addEventListener('keydown', on);
    return () => removeEventListener('keydown', on);
  }, []);
}

/**
 * Reloads while the API answers 404, up to `tries` times: an execution or result just started is
 * in NATS before this backend's projection has it ("not in the read model (yet)").
 */
export function useRetryWhileMissing<T>(l: Loaded<T>, tries = 20, everyMs = 750): void {
  const count = useRef(0);
  useEffect(() => {
    if (l.error?.status !== 404 || l.loading || count.current >= tries) return;
    count.current++;
    const t = setTimeout(l.reload, everyMs);
    return () => clearTimeout(t);
  }, [l.error, l.loading, l.reload, tries, everyMs]);
}
