import type { RSOConfig } from '../src/index.js';
import { describeTensor } from '../src/base/weight-groups.js';
import { parseConfig } from '../src/config/config.js';
import { RSOSearch } from '../src/search/rso-search.js';
import { runStep } from '../src/train/run-batch.js';

/**
 * A search over one Dense kernel [4, 3] holding `values`, with an evaluator whose losses always prefer w + Δ
 * (scalar steps and block moves alike); `step` runs one step through the runner.
 */
export function denseKernelSearch(config: RSOConfig, values: Float32Array) {
  const search = new RSOSearch(parseConfig(config));
  search.bind([describeTensor('d/kernel', [4, 3])], () => values, null);
  const evaluator = {
    read: (_t: number, i: number) => values[i]!,
    write: (_t: number, i: number, v: number) => void (values[i] = v),
    evaluate: () => [1, 0, 2],
    evaluateBlock: () => [1, 0, 2],
    writeBlock: (_t: number, flats: Int32Array, v: Float32Array) => flats.forEach((f, i) => (values[f] = v[i]!)),
  };
  return { search, values, step: () => runStep(search, evaluator) };
}
