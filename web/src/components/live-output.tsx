// Live output of a running script: the backend relays the agent's output chunks as server-sent
// events (`output`, `gap`, `eof`). Best effort by design (chunks before the page connected are not
// replayed): the stored output is on the result page once the run ends.
import { useEffect, useState } from 'preact/hooks';

/** At most this much live text is kept in the page; older text scrolls away. */
const KEEP_CHARS = 256 * 1024;

export function LiveOutput({ pcId, requestId }: { pcId: string; requestId: string }) {
  const [text, setText] = useState('');
  const [note, setNote] = useState<string>('connecting…');
  useEffect(() => {
    const es = new EventSource(`/api/live/${encodeURIComponent(pcId)}/${encodeURIComponent(requestId)}`);
    es.addEventListener('open', () => setNote('live'));
    es.addEventListener('output', (e) => {
      const chunk = JSON.parse((e as MessageEvent<string>).data) as { stream: string; text: string };
      setText((t) => (t + chunk.text).slice(-KEEP_CHARS));
    });
    es.addEventListener('gap', () => setNote('live (some output was missed; the result has all of it)'));
    es.addEventListener('eof', () => {
      setNote('the script finished; open the result for the stored output');
      es.close();
    });
    es.addEventListener('error', () => setNote('reconnecting…'));
    return () => es.close();
  }, [pcId, requestId]);
  return (
    <div class="live-output" data-testid="live-output">
      <div class="muted small">{note}</div>
      <pre class="output-text">{text || ' '}</pre>
    </div>
  );
}
