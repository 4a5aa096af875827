import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import type { User } from '../types.js';
import { ErrorBox } from '../components/ui.js';

export function LoginPage({ onLogin }: { onLogin: (u: User) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await api.post<{ user: User }>('/api/login', { username, password });
      onLogin(r.user);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'client', String(err)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="center-page">
      <form class="login card" onSubmit={(e) => void submit(e)} aria-label="log in">
        <div class="brand big">
          <svg viewBox="0 0 16 16" width="28" height="28" aria-hidden="true">
            <rect width="16" height="16" rx="3" fill="currentColor" />
            <rect x="7.2" y="2" width="1.6" height="12" rx=".8" transform="rotate(35 8 8)" fill="var(--bg)" />
          </svg>
          baton
        </div>
        <p class="muted">Jobs for your fleet. Log in to continue.</p>
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            autoFocus
            required
            value={username}
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        <ErrorBox error={error} title={error?.status === 401 ? 'Login failed' : undefined} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <p class="muted small">
          <code>baton up</code> prints the first admin login.
        </p>
      </form>
    </main>
  );
}
