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
    console.warn('wasm backend unavailable; falling back to the (much slower) cpu backend');
    if (!(await tf.setBackend('cpu'))) throw new Error('neither the wasm nor the cpu backend could be initialised');
  }
  await tf.ready();
  return tf.getBackend();
}
