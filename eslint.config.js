// @ts-check
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'docs/api/**', 'node_modules/**', '.cache/**', 'examples/browser/dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // All randomness must come from the optimizer's seeded generator (seedrandom).
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use the seeded RNG (src/base/rng.ts); Math.random is banned in src/.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports only.' },
      ],
    },
  },
  {
    // The main entry runs in browsers and Web Workers: Node built-ins and globals only in src/node/.
    files: ['src/**/*.ts'],
    ignores: ['src/node/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Node built-ins belong in src/node/ (the tfjs-rso/node entry).' },
            {
              group: ['fs', 'fs/*', 'path', 'zlib', 'module', 'worker_threads', 'readline', 'events', 'os', 'url', 'child_process', 'crypto', 'stream', 'util', 'cli-progress'],
              message: 'Node built-ins and Node-only packages belong in src/node/ (the tfjs-rso/node entry).',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'The main entry must not touch process: it runs in browsers too.' },
        { name: 'Buffer', message: 'Use Uint8Array: the main entry runs in browsers too.' },
        { name: '__dirname', message: 'Not defined in browsers or ES modules.' },
      ],
    },
  },
);
