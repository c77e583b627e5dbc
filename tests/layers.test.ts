// The layering of src/ (.ci/layers.mjs, drawn in docs/internals.md section 2): the real tree keeps it, and a
// deliberate back-import fails, naming the file and the import.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { LAYERS, checkLayers, importsOf, readSources } from '../.ci/layers.mjs';

interface Source {
  path: string;
  text: string;
}
interface Violation {
  file: string;
  spec: string;
  from: string;
  to: string;
}

const check = checkLayers as (files: Source[]) => Violation[];
const layers = LAYERS as Record<string, string[]>;
const dir = mkdtempSync(join(tmpdir(), 'layers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (root: string) => spawnSync(process.execPath, ['.ci/layers.mjs', root], { encoding: 'utf8' });

describe('layering of src/', () => {
  it('holds for the real tree', () => {
    expect(check(readSources('.') as Source[])).toEqual([]);
    const result = run('.');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^layering holds for \d+ files of src\//);
  });

  it('gives every folder of src/ a rule, and base/ none but itself', () => {
    const folders = new Set((readSources('.') as Source[]).map((f) => (f.path.includes('/') ? f.path.split('/')[0]! : '.')));
    for (const folder of folders) expect(layers[folder], folder).toBeDefined();
    expect(layers.base).toEqual([]);
  });

  it('is the table docs/internals.md draws, row for row', () => {
    const doc = readFileSync('docs/internals.md', 'utf8');
    const rows = [...doc.matchAll(/^(\S+)\s+─→ (.+)$/gm)];
    const drawn = Object.fromEntries(
      rows.map(([, folder, imports]) => [
        folder === 'index.ts' ? '.' : folder!.replace(/\/$/, ''),
        imports === 'nothing' ? [] : imports!.split(' ').map((x) => x.replace(/\/\(types\)$/, ':types').replace(/\/$/, '')).sort(),
      ]),
    );
    expect(rows.length).toBe(Object.keys(layers).length);
    expect(drawn).toEqual(Object.fromEntries(Object.entries(layers).map(([k, v]) => [k, [...v].sort()])));
  });

  it('finds static, side-effect, type-only, re-export and dynamic imports', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "import '../c/index.js';",
      'import {',
      '  d,',
      "} from '../d/d.js';",
      "export { e } from './e.js';",
      "export type { F } from '../f/f.js';",
      "const g = await import('../g/g.js');",
      "import * as tf from '@tensorflow/tfjs-core';",
      " * import { h } from '../h/h.js';",
    ].join('\n');
    expect(importsOf(text)).toEqual([
      { spec: './a.js', types: false },
      { spec: '../b/b.js', types: true },
      { spec: '../c/index.js', types: false },
      { spec: '../d/d.js', types: false },
      { spec: './e.js', types: false },
      { spec: '../f/f.js', types: true },
      { spec: '../g/g.js', types: false },
    ]);
  });

  it('fails on a back-import in a list of files, naming the file and the import', () => {
    const files: Source[] = [
      { path: 'base/rng.ts', text: "import { RSOSearch } from '../search/rso-search.js';\n" },
      { path: 'search/rso-search.ts', text: "import type { SigmaRule } from '../policies/sigma/index.js';\n" },
      { path: 'search/tensor-grids.ts', text: "import { uniformGrid } from '../policies/grids/index.js';\n" },
      { path: 'engine/plans.ts', text: "import type { WeightGroup } from '../base/weight-groups.js';\n" },
      { path: 'index.ts', text: "export { RSOOptimizer } from './optimizer/rso-optimizer.js';\n" },
    ];
    expect(check(files)).toMatchObject([
      { file: 'base/rng.ts', spec: '../search/rso-search.js', from: 'base', to: 'search' },
      { file: 'search/tensor-grids.ts', spec: '../policies/grids/index.js', from: 'search', to: 'policies' },
    ]);
  });

  it('fails on a deliberate back-import in a copy of the tree, and prints it', () => {
    const root = join(dir, 'tree');
    cpSync('src', join(root, 'src'), { recursive: true });
    const file = join(root, 'src/engine/plans.ts');
    writeFileSync(file, `import { parseConfig } from '../config/config.js';\nvoid parseConfig;\n${readFileSync(file, 'utf8')}`);
    const result = run(root);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("src/engine/plans.ts: imports '../config/config.js' (engine → config;");
  });
});
