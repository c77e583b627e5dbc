/**
 * ns per step of the search core alone (ask, tell, write; no tfjs): a 12,016-scalar model's tensors, an
 * evaluator that returns fixed losses. For comparing checkouts of this repository in one run:
 *
 *   npx tsx examples/benchmarks/search-loop.ts [root …, default .] [--steps 2000000] [--rounds 3]
 *
 * Each round times every root once, in turn, so that the machine's drift touches all of them alike.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { intFlag } from '../lib/flags.js';

const args = process.argv.slice(2);
const valueOf = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const roots = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')).map((r) => resolve(r));
if (roots.length === 0) roots.push(resolve('.'));
const steps = intFlag('steps', valueOf('steps', '2000000'), 1);
const rounds = intFlag('rounds', valueOf('rounds', '3'), 1);

/** The paper's MNIST network's trainable tensors: 6 conv blocks with BN, and the dense output. */
const SHAPES: [string, number[]][] = [
  ...Array.from({ length: 6 }, (_, b): [string, number[]][] => [
    [`block${b}_conv/kernel`, [3, 3, b === 0 ? 1 : 16, 16]],
    [`block${b}_bn/gamma`, [16]],
    [`block${b}_bn/beta`, [16]],
  ]).flat(),
  ['logits/kernel', [16, 10]],
];

/** Imports the first of `paths` that exists under `root` (files moved between checkouts: the newer place first). */
async function importFrom(root: string, ...paths: string[]) {
  const path = paths.find((p) => existsSync(`${root}/${p}`)) ?? paths[0]!;
  return import(`${root}/${path}`);
}

async function timeRoot(root: string): Promise<number> {
  const { RSOSearch } = await importFrom(root, 'src/search/rso-search.ts');
  const { parseConfig } = await importFrom(root, 'src/config/config.ts', 'src/optimizer/config.ts');
  const { describeTensor } = await importFrom(root, 'src/base/weight-groups.ts', 'src/search/weight-groups.ts');
  const { runStep } = await importFrom(root, 'src/train/run-batch.ts', 'src/search/run-batch.ts');
  const values = SHAPES.map(([, shape]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + 1) * 0.1));
  const search = new RSOSearch(parseConfig({ seed: 1 }));
  search.bind(SHAPES.map(([name, shape]) => describeTensor(name, shape)), (i: number) => values[i]!, null);
  const losses = [1, 0.5, 2];
  const evaluator = { read: (t: number, i: number) => values[t]![i]!, write: (t: number, i: number, v: number) => void (values[t]![i] = v), evaluate: () => losses };
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) runStep(search, evaluator);
  return ((performance.now() - t0) * 1e6) / steps;
}

for (let r = 0; r < rounds; r++) {
  for (const root of roots) console.log(`round ${r + 1}: ${root}: ${(await timeRoot(root)).toFixed(0)} ns/step`);
}
