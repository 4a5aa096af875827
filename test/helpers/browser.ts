// Debian's Chromium driven by playwright-core (Playwright's own browser download cannot work on
// machines that reach only package registries; scripts/ensure-chromium.sh installs the package).
// The flags keep Chromium from calling home: without them it floods a closed network with
// connection attempts at every start.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['BATON_CHROMIUM'] ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type TestBrowser = { browser: Browser; close(): Promise<void> };

/**
 * Launches Chromium. Playwright's launch() gives it a fresh temporary profile (--user-data-dir)
 * of its own and removes it on close; it refuses the flag in `args`.
 */
export async function launchChromium(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: run scripts/ensure-chromium.sh (npm test does) or set BATON_CHROMIUM`,
    );
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  return { browser, close: () => browser.close() };
}

/**
 * Where screenshots go: docs/screenshots when BATON_SCREENSHOTS=docs (`npm run screenshots`, the
 * pictures linked from docs/web.md), else dist/screenshots, so a plain `npm test` leaves the
 * work tree clean.
 */
export function screenshotDir(projectRoot: string): string {
  return process.env['BATON_SCREENSHOTS'] === 'docs'
    ? join(projectRoot, 'docs', 'screenshots')
    : join(projectRoot, 'dist', 'screenshots');
}
