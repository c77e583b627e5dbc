import { noParams, registerBuiltInPolicy } from '../registry.js';
import { inputToOutput } from './input-to-output.js';
import { outputToInput } from './output-to-input.js';
import { shuffledOrder } from './shuffled-order.js';
import { policyField } from '../config-field.js';
import type { LayerOrder } from './layer-order.js';

/** The `layerOrder` field of the optimizer's config (default `outputToInput()`). */
export const layerOrderField = policyField<LayerOrder, 'layerOrder'>('layerOrder', 'layerOrder', outputToInput);

registerBuiltInPolicy('layerOrder', 'outputToInput', (c) => (noParams('outputToInput', c), outputToInput()));
registerBuiltInPolicy('layerOrder', 'inputToOutput', (c) => (noParams('inputToOutput', c), inputToOutput()));
registerBuiltInPolicy('layerOrder', 'shuffled', (c) => (noParams('shuffledOrder', c), shuffledOrder()));

export { inputToOutput, outputToInput, shuffledOrder };
export type { LayerOrder, LayerOrderContext, LayerOrderGroup } from './layer-order.js';
