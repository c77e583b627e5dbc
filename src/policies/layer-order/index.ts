import { registerPolicy } from '../registry.js';
import { inputToOutput } from './input-to-output.js';
import { outputToInput } from './output-to-input.js';
import { shuffledOrder } from './shuffled-order.js';

registerPolicy('layerOrder', 'outputToInput', () => outputToInput());
registerPolicy('layerOrder', 'inputToOutput', () => inputToOutput());
registerPolicy('layerOrder', 'shuffled', () => shuffledOrder());

export { inputToOutput, outputToInput, shuffledOrder };
export type { LayerOrder, LayerOrderContext, LayerOrderGroup } from './layer-order.js';
