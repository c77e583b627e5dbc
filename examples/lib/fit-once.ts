/**
 * Child process of `npm run bench:engine` for the machine's ceiling: a 1-thread {@link threadFit} run twice,
 * the first as a warm-up (so that the process runs warm, like the benchmark's own), and the second's times
 * printed as one `RESULT` line of JSON on stdout.
 *
 *   node --import tsx examples/lib/fit-once.ts --fraction 0.02 --chunks 3 --batch-size 1000
 */
import { parseArgs } from 'node:util';
import { useWasmOrCpu } from './backend.js';
import { threadFit } from './thread-fit.js';

const { values } = parseArgs({
  options: {
    fraction: { type: 'string', default: '0.02' },
    chunks: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '1000' },
  },
});
const args = { threads: 1, fraction: Number(values.fraction), chunks: Number(values.chunks), batch: Number(values['batch-size']) };
await useWasmOrCpu();
await threadFit(args);
const run = await threadFit(args);
console.log(`RESULT ${JSON.stringify({ perGroup: [...run.perGroup], setupMs: run.setupMs })}`);
