/**
 * Saving and loading a LayersModel (with its optimizer state) to a folder, without tfjs-node.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** True when `dir` holds a checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'model.json')) && existsSync(join(dir, 'weights.bin'));
}

/** Saves model, weights and optimizer state (includeOptimizer) to `dir`, atomically (write then rename). */
export async function saveCheckpoint(model: tfl.LayersModel, dir: string, extra: Record<string, unknown> = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData as ArrayBuffer;
      const json = { ...artifacts, weightData: undefined, extra };
      await writeFile(join(dir, 'weights.bin.tmp'), Buffer.from(weights));
      await writeFile(join(dir, 'model.json.tmp'), JSON.stringify(json));
      await rename(join(dir, 'weights.bin.tmp'), join(dir, 'weights.bin'));
      await rename(join(dir, 'model.json.tmp'), join(dir, 'model.json'));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
}

/** Loads a checkpoint written by {@link saveCheckpoint}; the optimizer class must be registered (import tfjs-rso). */
export async function loadCheckpoint(dir: string): Promise<{ model: tfl.LayersModel; extra: Record<string, unknown> }> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelArtifacts & { extra?: Record<string, unknown> };
  const buf = await readFile(join(dir, 'weights.bin'));
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const model = await tfl.loadLayersModel(tf.io.fromMemory({ ...json, weightData }));
  return { model, extra: json.extra ?? {} };
}
