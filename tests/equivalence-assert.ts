import { expect } from 'vitest';
import { STEPS } from './equivalence-runs.js';
import type { EquivalenceReport } from './equivalence-runs.js';

/** What a row expects of the engine: the delta path ran (or not), candidates were batched (or not). */
export interface RowExpectations {
  readonly usesDeltas: boolean;
  readonly batched: boolean;
  /** Relative tolerance of the candidate losses against the closure path (1e-5 on cpu and wasm). */
  readonly lossTolerance: number;
  /**
   * Block moves that span several output channels (default false): those re-run the suffix, so the delta and
   * output paths take only the steps whose block lies in one channel.
   */
  readonly offChannel?: boolean;
}

/**
 * The equivalence contract: the same coordinates, candidate losses within the tolerance, the same decisions up
 * to a reported near-tie (gap below 1e-6, after at least half the steps agreed), the intended engine paths, and
 * then the same weights.
 */
export function assertEquivalent(label: string, r: EquivalenceReport, e: RowExpectations): void {
  expect(r.closureSteps).toBeGreaterThanOrEqual(STEPS);
  expect(r.engineSteps).toBe(STEPS);
  expect(r.coordinateMismatches).toBe(0);
  if (r.nearTie !== null) {
    const t = r.nearTie;
    console.log(`${label}: near-tie at step ${t.step}: closure kept ${t.closureKept}, engine kept ${t.engineKept}; losses closure ${t.closureLosses.join(', ')} vs engine ${t.engineLosses.join(', ')}; gap ${t.gap.toExponential(2)}`);
    expect(t.gap).toBeLessThan(1e-6);
  }
  console.log(`${label}: worst relative loss difference over ${r.same} steps: ${r.worst.toExponential(2)}; ${r.deltaSteps} steps on the delta path, ${r.headHits} of them from a kept head`);
  expect(r.same).toBeGreaterThanOrEqual(STEPS / 2);
  // The delta path really ran where the graph allows it, and only there.
  if (e.usesDeltas) {
    // Blocks in one channel are a minority of the steps: kept heads must serve some of them, after suffix steps
    // changed other channels.
    expect(r.deltaSteps).toBeGreaterThan(e.offChannel === true ? 10 : 40);
    expect(r.headHits).toBeGreaterThan(e.offChannel === true ? 0 : r.deltaSteps / 2);
  } else expect(r.deltaSteps).toBe(0);
  expect(r.batchedSteps).toBe(e.batched ? r.deltaSteps : 0);
  // Every net ends in a softmax Dense layer: its scalars took the output layer's own path (blocks across its
  // columns re-run it instead).
  if (e.offChannel === true) {
    expect(r.outputSteps).toBeLessThan(r.outputLayerSteps);
    expect(r.outputSteps).toBeGreaterThan(0);
  } else {
    expect(r.outputSteps).toBe(r.outputLayerSteps);
    expect(r.outputSteps).toBeGreaterThan(10);
  }
  expect(r.worst).toBeLessThan(e.lossTolerance);
  // Every trainable tensor (conv kernels, BN gamma/beta, dense kernel/bias) was searched.
  expect(r.searchedTensors).toBe(r.trainableTensors);
  // Same weights after the run (BN moving statistics excluded: the engine re-estimates them).
  if (r.weightDiff !== null) expect(r.weightDiff).toBeLessThan(1e-5);
}
