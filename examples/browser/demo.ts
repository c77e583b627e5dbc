// npm run demo:browser: builds the browser demo into examples/browser/dist/ and serves it on localhost.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDemo, DEMO_DATA } from './build.js';
import { serveDemo } from './serve.js';
import { SMOKE } from '../lib/smoke.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, help: { type: 'boolean', default: false } } });
if (values.help) {
  console.log('npm run demo:browser [-- --port 8080]: builds the demo (MNIST subset included) and serves it, cross-origin isolated.');
  process.exit(0);
}
const out = join(dirname(fileURLToPath(import.meta.url)), 'dist');
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const sizes = await buildDemo(out, { ...DEMO_DATA, minify: true });
console.log(`built ${out}: page.js ${kb(sizes.page)}, worker.js ${kb(sizes.worker)} (minified), ${DEMO_DATA.trainImages} + ${DEMO_DATA.testImages} MNIST images`);
const server = await serveDemo(out, Number(values.port));
console.log(`serving the demo at ${server.url} (Ctrl-C stops)`);
if (SMOKE) {
  // A smoke run (.ci/doc-commands.mjs) checks that the page and its worker are served, then stops.
  for (const file of ['', 'worker.js']) {
    const res = await fetch(new URL(file, server.url));
    if (!res.ok) throw new Error(`${server.url}${file}: HTTP ${res.status}`);
  }
  await server.close();
}
