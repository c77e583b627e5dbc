import { describe, expect, it } from 'vitest';
import { createPolicy, policyNames } from '../src/index.js';
import type { LayerOrder } from '../src/index.js';

const groups = Object.freeze(Array.from({ length: 7 }, (_, i) => Object.freeze({ name: `g${i}`, size: i + 1 })));

describe('layer-order contract (every registry entry)', () => {
  for (const name of policyNames('layerOrder')) {
    describe(name, () => {
      const order = createPolicy<LayerOrder>('layerOrder', { name });
      it('returns a permutation without mutating its input', () => {
        const copy = JSON.stringify(groups);
        for (let cycle = 0; cycle < 5; cycle++) {
          const p = order.order(groups, { cycle, seed: 3 });
          expect([...p].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
        }
        expect(JSON.stringify(groups)).toBe(copy);
      });
      it('is deterministic in (cycle, seed)', () => {
        for (let cycle = 0; cycle < 5; cycle++) {
          expect(order.order(groups, { cycle, seed: 9 })).toEqual(order.order(groups, { cycle, seed: 9 }));
        }
      });
    });
  }
  it('knows the three built-ins', () => {
    expect(policyNames('layerOrder').sort()).toEqual(['inputToOutput', 'outputToInput', 'shuffled']);
  });
  it('outputToInput reverses, inputToOutput keeps', () => {
    expect(createPolicy<LayerOrder>('layerOrder', { name: 'outputToInput' }).order(groups, { cycle: 0, seed: 0 })).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(createPolicy<LayerOrder>('layerOrder', { name: 'inputToOutput' }).order(groups, { cycle: 0, seed: 0 })).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
  it('shuffled changes with the cycle and with the seed', () => {
    const s = createPolicy<LayerOrder>('layerOrder', { name: 'shuffled' });
    const orders = new Set(Array.from({ length: 6 }, (_, c) => JSON.stringify(s.order(groups, { cycle: c, seed: 1 }))));
    expect(orders.size).toBeGreaterThan(1);
    expect(s.order(groups, { cycle: 0, seed: 1 })).not.toEqual(s.order(groups, { cycle: 0, seed: 2 }));
  });
});
