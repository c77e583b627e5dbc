import { train } from './smoke-entry.js';

window.smoke = (async () => {
  // Twice: the second run must leave as many tensors as the first (tfjs caches a few constants on first use).
  const first = await train();
  const page = await train();
  page.leaked = page.tensors - first.tensors;
  const worker = await new Promise((resolve, reject) => {
    const w = new Worker('./worker.bundle.js');
    w.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data));
    w.onerror = (e) => reject(new Error(e.message));
  });
  return { page, worker };
})();
