// Smoke runs: .ci/doc-commands.mjs runs every documented command with RSO_SMOKE=1 and small-run flags, so that
// each takes its own code path on tiny data in seconds. Here the data shrinks; the flags do the rest.
import { loadMnist as loadAll } from '../../src/node/index.js';
import type { MnistData } from '../../src/node/index.js';

/** True in a smoke run of a documented command. */
export const SMOKE = process.env['RSO_SMOKE'] === '1';

// Enough for a few batches and a test that is not all one class.
const SMOKE_TRAIN = 600;
const SMOKE_TEST = 300;

interface Limits {
  trainLimit?: number;
  testLimit?: number;
}

/** The limits of a data loader, cut to a few hundred images in a smoke run. */
export function smokeLimits(limits: Limits = {}): Limits {
  if (!SMOKE) return limits;
  return { trainLimit: Math.min(limits.trainLimit ?? SMOKE_TRAIN, SMOKE_TRAIN), testLimit: Math.min(limits.testLimit ?? SMOKE_TEST, SMOKE_TEST) };
}

/** `loadMnist` from `tfjs-rso/node`, on a few hundred images in a smoke run. */
export function loadMnist(limits: Limits = {}): Promise<MnistData> {
  return loadAll(smokeLimits(limits));
}
