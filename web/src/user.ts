// The logged-in user, for role-aware buttons (viewers see no run/edit actions).
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { User } from './types.js';

export const UserContext = createContext<User>({ name: '', role: 'viewer' });

const RANK: Record<string, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when the current user's role is at least `role`. Unknown roles count as viewer. */
export function useCan(role: 'operator' | 'admin'): boolean {
  const u = useContext(UserContext);
  return (RANK[u.role] ?? 0) >= (RANK[role] ?? 99);
}
