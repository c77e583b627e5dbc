/**
 * The committed float MNIST model (the paper's network trained with Adam) as a standard tfjs model: a
 * `model.json` (topology and weights manifest) beside a `weights.bin`, which `tf.loadLayersModel` reads in a
 * browser as well.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** The committed float model's folder (absolute, so a script finds it from any working directory). */
export const FLOAT_MODEL_DIR = fileURLToPath(new URL('../benchmarks/weights/mnist-float', import.meta.url));

/**
 * Saves `model` as `<dir>/model.json` and `<dir>/weights.bin` (every weight, the BN moving statistics
 * included), with `metadata` in the model.json's `userDefinedMetadata`.
 *
 * @returns The byte size of weights.bin.
 */
export async function saveFloatModel(model: tfl.LayersModel, dir: string, metadata: Record<string, unknown>): Promise<number> {
  let bytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData!);
      bytes = weightData.byteLength;
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
        modelTopology: artifacts.modelTopology,
        userDefinedMetadata: metadata,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'model.json'), `${JSON.stringify(json, null, 1)}\n`);
      await writeFile(join(dir, 'weights.bin'), new Uint8Array(weightData));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return bytes;
}

/** The `userDefinedMetadata` of the model saved in `dir` (empty when it has none). */
export async function readModelMetadata(dir: string): Promise<Record<string, unknown>> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { userDefinedMetadata?: Record<string, unknown> };
  return json.userDefinedMetadata ?? {};
}

/** Loads a model saved by {@link saveFloatModel} (or any single-shard tfjs layers model) from disk. */
export async function loadFloatModel(dir: string = FLOAT_MODEL_DIR): Promise<tfl.LayersModel> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const manifest = json.weightsManifest[0]!;
  const bin = await readFile(join(dirname(join(dir, 'model.json')), manifest.paths[0]!));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: manifest.weights, weightData }));
}
