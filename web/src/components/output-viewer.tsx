// Shows one output stream of a result by byte ranges (64 KiB pages), so a 100 MB output never
// lands in the page at once: first/previous/next/last page and a jump to the tail.
import { useEffect, useState } from 'preact/hooks';
import { fetchOutputRange, ApiError } from '../api.js';
import { fmtBytes } from '../format.js';
import { ErrorBox } from './ui.js';

export const PAGE_BYTES = 64 * 1024;

export function OutputViewer({
  resultId,
  stream,
  bytes,
}: {
  resultId: string;
  stream: 'stdout' | 'stderr';
  bytes: number;
}) {
  const lastPage = Math.max(0, Math.ceil(bytes / PAGE_BYTES) - 1);
  const [page, setPage] = useState(0);
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | undefined>();
  const [wrap, setWrap] = useState(false);

  useEffect(() => {
    if (bytes === 0) {
      setText('');
      return;
    }
    const ac = new AbortController();
    setText(null);
    fetchOutputRange(resultId, stream, page * PAGE_BYTES, PAGE_BYTES, ac.signal)
      .then((t) => {
        setText(t);
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (!ac.signal.aborted) setError(e instanceof ApiError ? e : new ApiError(0, 'client', String(e)));
      });
    return () => ac.abort();
  }, [resultId, stream, page, bytes]);

  const from = page * PAGE_BYTES;
  const to = Math.min(bytes, from + PAGE_BYTES);
  return (
    <div class="output" data-stream={stream}>
      <div class="output-bar">
        <span class="muted">
          {bytes === 0
            ? 'empty'
            : lastPage === 0
              ? fmtBytes(bytes)
              : `bytes ${from.toLocaleString()}–${to.toLocaleString()} of ${bytes.toLocaleString()} (${fmtBytes(bytes)})`}
        </span>
        {lastPage > 0 && (
          <span class="pager">
            <button type="button" disabled={page === 0} onClick={() => setPage(0)}>
              « Start
            </button>
            <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
              ‹ Prev
            </button>
            <span class="muted">
              page {page + 1} / {lastPage + 1}
            </span>
            <button type="button" disabled={page >= lastPage} onClick={() => setPage(page + 1)}>
              Next ›
            </button>
            <button type="button" disabled={page >= lastPage} onClick={() => setPage(lastPage)}>
              End »
            </button>
          </span>
        )}
        <label class="right small">
          <input type="checkbox" checked={wrap} onChange={() => setWrap(!wrap)} /> wrap lines
        </label>
      </div>
      <ErrorBox error={error} />
      <pre class={`output-text ${wrap ? 'wrap' : ''}`} aria-label={stream} aria-busy={text === null}>
        {text === null ? 'Loading…' : text === '' ? <span class="muted">(no output)</span> : text}
      </pre>
    </div>
  );
}
