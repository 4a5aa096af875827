// Light/dark: follows prefers-color-scheme until the person picks one; the choice is remembered.
export type Theme = 'light' | 'dark' | 'system';
const KEY = 'baton.theme';

export function storedTheme(): Theme {
  try {
    const t = localStorage.getItem(KEY);
    return t === 'light' || t === 'dark' ? t : 'system';
  } catch {
    return 'system';
  }
}

const systemDark = () => matchMedia('(prefers-color-scheme: dark)');
let following: Theme = 'system';
let listening = false;

/**
 * Sets `data-theme` on <html> to the theme in force (the stylesheet keys its palettes on it
 * alone) and, while the choice is `system`, follows the system setting as it changes.
 */
export function applyTheme(t: Theme): void {
  following = t;
  document.documentElement.dataset.theme = effectiveTheme(t);
  if (!listening) {
    listening = true;
    systemDark().addEventListener('change', () => {
      if (following === 'system') document.documentElement.dataset.theme = effectiveTheme('system');
    });
  }
  try {
    if (t === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, t);
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
}

export function effectiveTheme(t: Theme): 'light' | 'dark' {
  if (t !== 'system') return t;
  return systemDark().matches ? 'dark' : 'light';
}
