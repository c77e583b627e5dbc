import { train } from './smoke-entry.js';

train().then(async (first) => {
  const result = await train();
  return { ...result, leaked: result.tensors - first.tensors };
}).then(
  (result) => postMessage(result),
  (e) => postMessage({ error: String(e && e.stack ? e.stack : e) }),
);
