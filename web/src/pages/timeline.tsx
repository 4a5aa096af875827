// The timeline page: pick an endpoint, read its events over a period as lanes on a time axis.
import { useState } from 'preact/hooks';
import { href, navigate } from '../router.js';
import { Card, Empty, PageHeader } from '../components/ui.js';
import { EndpointTimeline } from '../components/endpoint-timeline.js';

export function TimelinePage({ pcId }: { pcId: string | undefined }) {
  const [draft, setDraft] = useState(pcId ?? '');
  return (
    <>
      <PageHeader
        title={pcId ? `Timeline · ${pcId}` : 'Timeline'}
        sub="Presence, runs and job-emitted events of one endpoint"
        actions={pcId ? <a href={href('agents', pcId)}>Agent →</a> : undefined}
      />
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.trim()) navigate(href('timeline', draft.trim()));
        }}
      >
        <input
          type="search"
          aria-label="endpoint"
          placeholder="pc id"
          value={draft}
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Show</button>
      </form>
      {pcId ? (
        <Card>
          <EndpointTimeline key={pcId} pcId={pcId} />
        </Card>
      ) : (
        <Empty>Enter a pc id, or open an agent from the Agents page.</Empty>
      )}
    </>
  );
}
