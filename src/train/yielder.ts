import * as tf from '@tensorflow/tfjs-core';

/** When the trainer yields to the event loop, as `model.fit`'s `yieldEvery`. */
export interface Yielder {
  /** After each batch: yields when the mode or the time since the last yield says so. */
  afterBatch(): Promise<void>;
  /** After each cycle. */
  afterCycle(): Promise<void>;
}

/**
 * Yields with `tf.nextFrame` (a frame in a browser, a macrotask in Node), so timers, I/O and rendering run
 * during training.
 *
 * @param every - `'batch'`, `'epoch'` (a cycle), `'never'`, or the milliseconds between yields.
 */
export function makeYielder(every: 'batch' | 'epoch' | 'never' | number): Yielder {
  let last = Date.now();
  const yieldNow = async () => {
    await tf.nextFrame();
    last = Date.now();
  };
  return {
    afterBatch: async () => {
      if (every === 'batch' || (typeof every === 'number' && Date.now() - last >= every)) await yieldNow();
    },
    afterCycle: async () => {
      if (every === 'epoch') await yieldNow();
    },
  };
}
