import { defineConfig } from 'tsup';

export default defineConfig({
  // The worker thread of the sharded engine is its own entry: dist/shard-worker.js, next to index.js/.cjs.
  entry: { index: 'src/index.ts', 'shard-worker': 'src/engine/shard-worker.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
  shims: true,
  external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', 'seedrandom', 'cli-progress'],
});
