import { defineConfig } from 'tsup';

export default defineConfig({
  // Three entries (the browser-safe core, tfjs-rso/node, tfjs-rso/paper), and the worker thread of the sharded
  // engine as its own file, dist/shard-worker.js, next to node.js. No code splitting: every file stands alone, so
  // that package.json can name exactly the files with side effects (the core's class and policy registrations).
  entry: { index: 'src/index.ts', node: 'src/node/index.ts', paper: 'src/paper/index.ts', 'shard-worker': 'src/node/shard-worker.ts' },
  splitting: false,
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
  shims: true,
  external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', 'seedrandom', /^node:/],
});
