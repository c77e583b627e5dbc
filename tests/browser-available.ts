// Where the browser suites find Chromium, and whether they run. Without a browser they are skipped, and the
// global setup (tests/global-setup.ts) prints how to run them; under CI a missing browser fails the run instead.
import { existsSync } from 'node:fs';

/** The Chromium the browser suites drive: `CHROMIUM_PATH`, or Debian's package. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** True under CI (`CI=true`), where a missing browser is an error, not a skip. */
export const IN_CI = process.env['CI'] === 'true' || process.env['CI'] === '1';

/** The browser suites run when Chromium is there, and always under CI (where they then fail). */
export const RUN_BROWSER_SUITES = IN_CI || existsSync(CHROMIUM);

/** The one line printed when the browser suites are skipped. */
export const HOW_TO_RUN_BROWSER_SUITES =
  `browser suites skipped: no Chromium at ${CHROMIUM}. To run them: install Debian's chromium ` +
  '(sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary, then run npm run test:browser';

/** Fails with the install hint when the browser is missing (under CI). */
export function requireBrowser(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (CI=true needs one): apt-get install -y chromium, or set CHROMIUM_PATH`);
}
