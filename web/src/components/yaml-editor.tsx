// The YAML editor: a plain textarea (the text is sent verbatim, so comments and layout survive a
// save) with a line-number gutter, the server's validation issues marked at their lines and listed
// below. Tab indents with two spaces (YAML forbids tabs); Esc then Tab leaves the editor.
import { useEffect, useMemo, useRef } from 'preact/hooks';
import type { Issue } from '../api.js';

const LINE_PX = 20;

export function YamlEditor({
  value,
  onInput,
  issues,
  readOnly,
  label,
  minLines = 16,
}: {
  value: string;
  onInput: (v: string) => void;
  issues: Issue[];
  readOnly?: boolean;
  label: string;
  minLines?: number;
}) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const marks = useRef<HTMLDivElement>(null);
  const escaped = useRef(false);
  const lines = useMemo(() => value.split('\n').length, [value]);
  const byLine = useMemo(() => {
    const m = new Map<number, Issue[]>();
    for (const i of issues) {
      if (i.line === undefined) continue;
      const list = m.get(i.line) ?? [];
      list.push(i);
      m.set(i.line, list);
    }
    return m;
  }, [issues]);

  const syncScroll = () => {
    const a = area.current;
    if (!a) return;
    if (gutter.current) gutter.current.scrollTop = a.scrollTop;
    if (marks.current) {
      marks.current.scrollTop = a.scrollTop;
      marks.current.scrollLeft = a.scrollLeft;
    }
  };
  useEffect(syncScroll, [value]);

  const onKeyDown = (e: KeyboardEvent) => {
    const a = area.current;
    if (!a || readOnly) return;
    if (e.key === 'Escape') {
      escaped.current = true;
      return;
    }
    if (e.key === 'Tab' && !escaped.current) {
      e.preventDefault();
      const { selectionStart: s, selectionEnd: end } = a;
      if (e.shiftKey) {
        // Outdent the current line by up to two spaces.
        const lineStart = value.lastIndexOf('\n', s - 1) + 1;
        const n = value.startsWith('  ', lineStart) ? 2 : value.startsWith(' ', lineStart) ? 1 : 0;
        if (n === 0) return;
        onInput(value.slice(0, lineStart) + value.slice(lineStart + n));
        requestAnimationFrame(() =>
          a.setSelectionRange(Math.max(lineStart, s - n), Math.max(lineStart, end - n)),
        );
      } else {
        onInput(`${value.slice(0, s)}  ${value.slice(end)}`);
        requestAnimationFrame(() => a.setSelectionRange(s + 2, s + 2));
      }
      return;
    }
    escaped.current = false;
  };

  const rows = Math.max(minLines, Math.min(lines + 1, 40));
  return (
    <div class="yaml-editor">
      <div class="editor-frame" style={{ height: `${rows * LINE_PX + 16}px` }}>
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => (
            <div
              key={i}
              class={byLine.has(i + 1) ? 'ln has-issue' : 'ln'}
              title={byLine
                .get(i + 1)
                ?.map((x) => x.message)
                .join('\n')}
            >
              {i + 1}
            </div>
          ))}
        </div>
        <div class="marks" ref={marks} aria-hidden="true">
          <div style={{ height: `${lines * LINE_PX}px`, position: 'relative' }}>
            {[...byLine.keys()].map((line) => (
              <div key={line} class="mark" style={{ top: `${(line - 1) * LINE_PX}px` }} />
            ))}
          </div>
        </div>
        <textarea
          ref={area}
          aria-label={label}
          class="code"
          spellcheck={false}
          wrap="off"
          autocapitalize="off"
          autocomplete="off"
          readOnly={readOnly}
          value={value}
          onInput={(e) => onInput((e.target as HTMLTextAreaElement).value)}
          onScroll={syncScroll}
          onKeyDown={onKeyDown}
        />
      </div>
      {issues.length > 0 && (
        <ul class="issues" aria-label="validation issues">
          {issues.map((i, n) => (
            <li key={n}>
              <button
                type="button"
                class="link"
                onClick={() => i.line !== undefined && jumpTo(area.current, value, i.line)}
              >
                {i.line !== undefined
                  ? `line ${i.line}${i.column !== undefined ? `:${i.column}` : ''}`
                  : 'file'}
              </button>
              {i.path && <code class="path">{i.path}</code>}
              <span class="msg">{i.message}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function jumpTo(a: HTMLTextAreaElement | null, text: string, line: number) {
  if (!a) return;
  let pos = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) break;
    pos = nl + 1;
  }
  const end = text.indexOf('\n', pos);
  a.focus();
  a.setSelectionRange(pos, end < 0 ? text.length : end);
  a.scrollTop = Math.max(0, (line - 4) * LINE_PX);
}
