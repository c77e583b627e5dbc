// Fails when a file of src/ imports a folder its own folder may not import (docs/internals.md, section 2, draws
// the same table). A folder is the first path segment under src/; the files at the top (index.ts) are '.'.
//
// Usage: node .ci/layers.mjs [root]   (root defaults to the current directory; its src/ is checked)
//
// Each rule lists the folders a folder may import, besides itself. `x:types` allows `import type` and
// `export type` from x only: the importer may name x's types but never runs x's code. '*' allows every folder.
// An import from a folder that has no rule fails too, so a new folder must be given one here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The rule per folder of src/, lowest layer first. */
export const LAYERS = {
  base: [],
  policies: ['base'],
  config: ['base', 'policies'],
  quantize: ['base', 'policies'],
  search: ['base', 'config', 'policies:types'],
  engine: ['base', 'search:types'],
  train: ['base', 'policies', 'config', 'search', 'engine'],
  optimizer: ['base', 'policies', 'config', 'quantize', 'search', 'engine', 'train'],
  node: ['base', 'policies', 'config', 'search', 'engine', 'train'],
  paper: [],
  kernels: [],
  '.': ['*'],
};

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** The relative imports of a source text: { spec, types } (types: an `import type` or `export type`). */
export function importsOf(text) {
  const found = [...text.matchAll(IMPORT)].map((m) => ({ spec: m[2], types: m[1] !== undefined }));
  return [...found, ...[...text.matchAll(DYNAMIC)].map((m) => ({ spec: m[1], types: false }))];
}

/** The folder of a path relative to src/ ('a/b.ts' → 'a', 'index.ts' → '.'), or null when outside src/. */
export function folderOf(path) {
  if (path.startsWith('..')) return null;
  const parts = path.split('/');
  return parts.length === 1 ? '.' : parts[0];
}

/** Whether folder `from` may import folder `to` (with `types`: through type-only imports alone). */
export function allowed(from, to, types, layers = LAYERS) {
  if (from === to) return true;
  const rule = layers[from];
  if (rule === undefined) return false;
  return rule.includes('*') || rule.includes(to) || (types && rule.includes(`${to}:types`));
}

/**
 * The imports against the layering among `files` ({ path relative to src/ with '/', text }): one
 * { file, spec, from, to } per offending import, in file order.
 */
export function checkLayers(files, layers = LAYERS) {
  const bad = [];
  for (const { path, text } of files) {
    const from = folderOf(path);
    for (const { spec, types } of importsOf(text)) {
      const to = folderOf(posix.normalize(posix.join(posix.dirname(path), spec)));
      if (to === null || allowed(from, to, types, layers)) continue;
      bad.push({ file: path, spec, from, to, types });
    }
  }
  return bad;
}

/** The .ts files under `root`/src, as checkLayers takes them. */
export function readSources(root) {
  const src = resolve(root, 'src');
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push({ path: relative(src, p).split('\\').join('/'), text: readFileSync(p, 'utf8') });
    }
  };
  walk(src);
  return files;
}

/** One line per offending import, naming the file, the import and the rule it breaks. */
export function describe(v, layers = LAYERS) {
  const rule = layers[v.from] === undefined ? 'no rule' : `may import ${layers[v.from].join(', ') || 'nothing else in src/'}`;
  return `src/${v.file}: imports${v.types ? ' type' : ''} '${v.spec}' (${v.from} → ${v.to}; ${v.from} ${rule})`;
}

function main() {
  const root = process.argv[2] ?? '.';
  const files = readSources(root);
  const bad = checkLayers(files);
  if (bad.length > 0) {
    console.error(`imports against the layering of src/ (rules in .ci/layers.mjs):\n${bad.map((v) => describe(v)).join('\n')}`);
    process.exit(1);
  }
  console.log(`layering holds for ${files.length} files of src/`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
