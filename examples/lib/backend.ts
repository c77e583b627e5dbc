import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';

/**
 * Selects the wasm backend, falling back to cpu with a message. `tf.setBackend` resolves false instead of
 * throwing when a backend fails to initialise, so the boolean is checked.
 */
export async function useWasmOrCpu(): Promise<string> {
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch {
    ok = false;
  }
  if (!ok) {
    console.warn(
      'WARNING: the wasm backend failed to initialise; falling back to the pure-JS cpu backend, which is 12-40x ' +
        'slower here. Expect far fewer steps within a time budget.',
    );
    if (!(await tf.setBackend('cpu'))) throw new Error('neither the wasm nor the cpu backend could be initialised');
  }
  await tf.ready();
  return tf.getBackend();
}
