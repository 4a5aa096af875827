// Hash routing (`#/runs/abc`): works behind any static file server with no fallback rule, and
// keeps the API namespace (/api) free of page paths.
import { useEffect, useState } from 'preact/hooks';

export type Route = { path: string[]; query: URLSearchParams };

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [p = '/', q = ''] = raw.split('?', 2);
  const path = p
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  return { path, query: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** `href('runs', id)` → `#/runs/<id>`, each segment encoded; an optional query object last. */
export function href(...parts: (string | Record<string, string | number | undefined>)[]): string {
  const segs: string[] = [];
  let query = '';
  for (const p of parts) {
    if (typeof p === 'string') segs.push(encodeURIComponent(p));
    else {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== '') q.set(k, String(v));
      query = q.toString();
    }
  }
  return `#/${segs.join('/')}${query ? `?${query}` : ''}`;
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else location.hash = to.replace(/^#/, '');
  if (replace) dispatchEvent(new HashChangeEvent('hashchange'));
}
