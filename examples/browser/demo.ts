// npm run demo:browser: builds the browser demo into examples/browser/dist/ and serves it on localhost.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDemo, DEMO_DATA } from './build.js';
import { serveDemo } from './serve.js';

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
