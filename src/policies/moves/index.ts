import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { channelBlocks } from './channel-blocks.js';

registerBuiltInPolicy('moves', 'channelBlocks', (c) => channelBlocks(p(c)));

export { channelBlocks };
export type { ChannelBlocksOptions, MovePolicy } from './channel-blocks.js';
