// The shell: session check, navigation, live connection, keyboard shortcuts and the page switch.
import { useEffect, useState } from 'preact/hooks';
import { api, onUnauthorized, ApiError } from './api.js';
import { connectLive, disconnectLive, useLiveStatus } from './live.js';
import { href, navigate, useRoute, type Route } from './router.js';
import { useShortcuts } from './hooks.js';
import { applyTheme, effectiveTheme, storedTheme, type Theme } from './theme.js';
import type { User } from './types.js';
import { Loading, ErrorBox } from './components/ui.js';
import { LoginPage } from './pages/login.js';
import { DashboardPage } from './pages/dashboard.js';
import { ActivityPage } from './pages/activity.js';
import { ExecutionPage } from './pages/execution.js';
import { ResultPage } from './pages/result.js';
import { CatalogListPage } from './pages/catalog-list.js';
import { CatalogPage } from './pages/catalog-page.js';
import { AgentsPage } from './pages/agents.js';
import { AgentPage } from './pages/agent.js';
import { TimelinePage } from './pages/timeline.js';
import { AuditPage } from './pages/audit.js';
import { UserContext } from './user.js';

const NAV = [
  ['dashboard', 'Dashboard', 'g d'],
  ['runs', 'Activity', 'g r'],
  ['jobs', 'Jobs', 'g j'],
  ['schedules', 'Schedules', 'g s'],
  ['agents', 'Agents', 'g a'],
  ['timeline', 'Timeline', 'g t'],
  ['audit', 'Audit', 'g u'],
] as const;

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [bootError, setBootError] = useState<ApiError | undefined>(undefined);
  const route = useRoute();

  useEffect(() => {
    const off = onUnauthorized(() => setUser(null));
    api
      .get<{ user?: User } & Partial<User>>('/api/me')
      .then((me) => setUser(me.user ?? (me.name ? { name: me.name, role: me.role ?? 'viewer' } : null)))
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 401) setUser(null);
        else setBootError(e instanceof ApiError ? e : new ApiError(0, 'client', String(e)));
      });
    return () => void off();
  }, []);

  useEffect(() => {
    if (user) connectLive();
    else disconnectLive();
  }, [user]);

  if (bootError && user === undefined)
    return (
      <main class="center-page">
        <ErrorBox error={bootError} title="Cannot load baton" />
      </main>
    );
  if (user === undefined) return <Loading />;
  if (user === null) return <LoginPage onLogin={setUser} />;
  return (
    <UserContext.Provider value={user}>
      <Shell user={user} route={route} onLogout={() => setUser(null)} />
    </UserContext.Provider>
  );
}

function Shell({ user, route, onLogout }: { user: User; route: Route; onLogout: () => void }) {
  const [theme, setTheme] = useState<Theme>(storedTheme());
  const [help, setHelp] = useState(false);
  const live = useLiveStatus();
  const section = route.path[0] ?? 'dashboard';

  const shortcuts: Record<string, () => void> = {
    '?': () => setHelp((h) => !h),
    Escape: () => setHelp(false),
  };
  for (const [p, , keys] of NAV) shortcuts[keys] = () => navigate(href(p));
  shortcuts['/'] = () => document.querySelector<HTMLInputElement>('input[type=search]')?.focus();
  useShortcuts(shortcuts);

  useEffect(() => {
    const h1 = document.querySelector('main h1');
    document.title = h1?.textContent ? `${h1.textContent} · baton` : 'baton';
  });

  const toggleTheme = () => {
    const next: Theme = effectiveTheme(theme) === 'dark' ? 'light' : 'dark';
    applyTheme(next);
    setTheme(next);
  };
  const logout = async () => {
    await api.post('/api/logout').catch(() => undefined);
    onLogout();
  };

  return (
    <div class="shell">
      <a
        class="skip"
        href="#main"
        onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}
      >
        Skip to content
      </a>
      <nav class="sidebar" aria-label="main">
        <a class="brand" href={href('dashboard')}>
          <svg viewBox="0 0 16 16" width="20" height="20" aria-hidden="true">
            <rect width="16" height="16" rx="3" fill="currentColor" />
            <rect x="7.2" y="2" width="1.6" height="12" rx=".8" transform="rotate(35 8 8)" fill="var(--bg)" />
          </svg>
          baton
        </a>
        <ul>
          {NAV.map(([p, label, keys]) => (
            <li key={p}>
              <a
                href={href(p)}
                aria-current={section === p || (p === 'runs' && section === 'results') ? 'page' : undefined}
                title={`${label} (${keys})`}
              >
                {label}
              </a>
            </li>
          ))}
        </ul>
        <div class="sidebar-foot">
          <div class={`live live-${live}`} title="live updates">
            <span class="dot" aria-hidden="true" /> {live}
          </div>
          <div class="who">
            <span>{user.name}</span> <span class="role">{user.role}</span>
          </div>
          <div class="foot-actions">
            <button
              type="button"
              class="ghost"
              onClick={toggleTheme}
              aria-label="toggle dark mode"
              title="toggle light/dark"
            >
              {effectiveTheme(theme) === 'dark' ? '☀' : '☾'}
            </button>
            <button type="button" class="ghost" onClick={() => setHelp(true)} title="keyboard shortcuts (?)">
              ?
            </button>
            <button type="button" class="ghost" onClick={() => void logout()}>
              Log out
            </button>
          </div>
        </div>
      </nav>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
    </div>
  );
}

function Page({ route }: { route: Route }) {
  const [section = 'dashboard', id] = route.path;
  switch (section) {
    case 'dashboard':
      return <DashboardPage />;
    case 'runs':
      return id ? <ExecutionPage execId={id} /> : <ActivityPage route={route} />;
    case 'results':
      return id ? <ResultPage resultId={id} /> : <ActivityPage route={route} />;
    case 'jobs':
    case 'schedules':
      if (id === undefined) return <CatalogListPage kind={section} />;
      return <CatalogPage key={`${section}/${id}`} kind={section} id={id === '_new' ? null : id} />;
    case 'agents':
      return id ? <AgentPage key={id} pcId={id} /> : <AgentsPage route={route} />;
    case 'timeline':
      return <TimelinePage pcId={id} />;
    case 'audit':
      return <AuditPage route={route} />;
    default:
      return <DashboardPage />;
  }
}

function ShortcutHelp({ onClose }: { onClose: () => void }) {
  return (
    <div class="modal-backdrop" onClick={onClose}>
      <div
        class="modal"
        role="dialog"
        aria-modal="true"
        aria-label="keyboard shortcuts"
        onClick={(e) => e.stopPropagation()}
      >
        <h2>Keyboard shortcuts</h2>
        <table class="data">
          <tbody>
            {NAV.map(([, label, keys]) => (
              <tr key={keys}>
                <td>
                  <kbd>{keys.split(' ')[0]}</kbd> <kbd>{keys.split(' ')[1]}</kbd>
                </td>
                <td>{label}</td>
              </tr>
            ))}
            <tr>
              <td>
                <kbd>/</kbd>
              </td>
              <td>Focus the search field</td>
            </tr>
            <tr>
              <td>
                <kbd>Ctrl</kbd>+<kbd>Enter</kbd>
              </td>
              <td>Save in the YAML editor</td>
            </tr>
            <tr>
              <td>
                <kbd>Esc</kbd> <kbd>Tab</kbd>
              </td>
              <td>Leave the YAML editor (Tab alone indents)</td>
            </tr>
            <tr>
              <td>
                <kbd>?</kbd>
              </td>
              <td>This help</td>
            </tr>
          </tbody>
        </table>
        <button type="button" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </div>
  );
}
