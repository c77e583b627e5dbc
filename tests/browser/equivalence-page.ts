// The model engine's equivalence row in the browser, on webgl (SwiftShader in headless Chromium): the same code
// as the Node rows (tests/equivalence-runs.ts), bundled for the page by tests/browser.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import { equivalenceRow } from '../equivalence-runs.js';
import type { EquivalenceReport } from '../equivalence-runs.js';
import { tinyConvSeq, toyData } from '../helpers.js';

async function run(): Promise<{ backend: string; report: EquivalenceReport; leaked: number }> {
  if (!(await tf.setBackend('webgl'))) throw new Error('the webgl backend did not start');
  // The Node rows' conv net with BN (conv/BN/pool/dense) and data (64 examples, seed 11).
  const { x, y } = toyData(64, [6, 6, 1], 11);
  const before = tf.memory().numTensors;
  const report = await equivalenceRow(() => tinyConvSeq(2), x, y, false);
  const leaked = tf.memory().numTensors - before;
  tf.dispose([x, y]);
  return { backend: tf.getBackend(), report, leaked };
}

(globalThis as unknown as { equivalence: Promise<unknown> }).equivalence = run().catch((e: unknown) => ({ error: String(e instanceof Error ? e.stack : e) }));
