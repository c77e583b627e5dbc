// Fails when the runtime imports of src/ form a cycle (type-only imports do not count).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(resolve(p));
  }
};
walk('src');
const edges = new Map();
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const deps = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'"]*?from\s+)?['"](\.[^'"]+)['"]/gm)) {
    if (m[1] && !process.argv.includes("--types")) continue;
    deps.push(resolve(dirname(file), m[2].replace(/\.js$/, '.ts')));
  }
  edges.set(file, deps);
}
const state = new Map();
const stack = [];
const cycles = [];
const visit = (f) => {
  state.set(f, 1);
  stack.push(f);
  for (const d of edges.get(f) ?? []) {
    if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].map((p) => p.slice(process.cwd().length + 1)).join(' → '));
    else if (!state.has(d)) visit(d);
  }
  stack.pop();
  state.set(f, 2);
};
for (const f of files) if (!state.has(f)) visit(f);
if (cycles.length > 0) {
  console.error(`import cycles in src/:\n${cycles.join('\n')}`);
  process.exit(1);
}
console.log(`no import cycle among ${files.length} files of src/`);
