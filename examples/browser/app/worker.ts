// The demo's training worker: one run (RSO, Adam, or the shrink tab's quantize and repair; one network, one
// backend) per worker. The page posts
// commands (protocol.ts) and draws what this posts back.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type * as tfl from '@tensorflow/tfjs-layers';
import { registerWasmTrainingKernels } from 'tfjs-rso';
import { createControl } from './control.js';
import type { Control } from './control.js';
import { loadSubset } from './data.js';
import type { Command, Report, RunResult, RunSpec } from './protocol.js';
import { trainShrink } from './shrink-trainer.js';
import { trainAdam, trainRso } from './trainers.js';
import type { Session } from './trainers.js';

interface WorkerScope {
  postMessage(message: Report, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<Command>) => void) | null;
  readonly location: { readonly href: string };
}
const scope = self as unknown as WorkerScope;
const post = (r: Report, transfer: Transferable[] = []) => scope.postMessage(r, transfer);

let control: Control | null = null;
/** Saves the running model at a step boundary; set by the trainer while a run can be saved. */
let saveNow: (() => Promise<void>) | null = null;
let saveWanted = false;

/**
 * Saves at once while the run waits at a step boundary (paused), else after the current step. A pause asked for
 * but not yet reached does not count: the step under way would be saved half done.
 */
function requestSave(): void {
  if (saveNow === null) post({ type: 'error', message: 'nothing to save: start an RSO run first' });
  else if (control?.holding === true) void saveNow();
  else saveWanted = true;
}

async function useBackend(name: string): Promise<void> {
  if (name === 'wasm') setWasmPaths(new URL('./', scope.location.href).href);
  // setBackend resolves false, it does not throw, when a backend fails to start.
  if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend did not start in this browser`);
  // Adam on a conv net needs Conv2DBackpropFilter, which tfjs's wasm backend lacks.
  if (name === 'wasm') registerWasmTrainingKernels();
}

/** All trainable weights, concatenated in variable order. */
function weightsOf(model: tfl.LayersModel): Float32Array {
  const parts = model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

async function run(spec: RunSpec, pauseAt: number | undefined): Promise<void> {
  await useBackend(spec.backend);
  const data = await loadSubset(scope.location.href);
  const ctl = createControl();
  control = ctl;
  if (pauseAt !== undefined) ctl.pauseAt(pauseAt);
  const session: Session = {
    spec,
    base: scope.location.href,
    data,
    control: ctl,
    post,
    tests: [],
    canSave: (save) => void (saveNow = save),
    afterStep: async () => {
      if (!saveWanted || saveNow === null) return;
      saveWanted = false;
      await saveNow();
    },
  };
  try {
    const end = await (spec.trainer === 'rso' ? trainRso : spec.trainer === 'adam' ? trainAdam : trainShrink)(session);
    const weights = weightsOf(end.model);
    end.model.dispose();
    const result: RunResult = {
      step: end.step, startStep: end.startStep, seconds: ctl.seconds(), stopped: end.stopped, weights, leaked: end.leaked, tests: end.tests,
      ...(end.shrink === undefined ? {} : { shrink: end.shrink }),
    };
    post({ type: 'done', result }, [weights.buffer]);
  } finally {
    saveNow = null;
    tf.dispose([data.train.x, data.train.y, data.test.x, data.test.y]);
  }
}

scope.onmessage = (e) => {
  const c = e.data;
  if (c.type === 'start') {
    run(c.spec, c.pauseAt).catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
  }
  else if (c.type === 'pause') control?.pause();
  else if (c.type === 'pauseAt') control?.pauseAt(c.step);
  else if (c.type === 'resume') control?.resume();
  else if (c.type === 'stop') control?.stop();
  else if (c.type === 'save') requestSave();
};
