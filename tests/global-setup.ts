// Runs once before the suites: says, in one line, when the browser suites are skipped and how to run them.
import { HOW_TO_RUN_BROWSER_SUITES, RUN_BROWSER_SUITES } from './browser-available.js';

export default function setup(): void {
  if (!RUN_BROWSER_SUITES) console.log(HOW_TO_RUN_BROWSER_SUITES);
}
