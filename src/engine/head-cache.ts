import type * as tf from '@tensorflow/tfjs-core';
import { computeHead, refreshHead } from './chain-head.js';
import type { ChainHead } from './chain-head.js';
import type { DeltaChain } from './delta-chain.js';
import type { BatchStats } from './graph.js';
import type { HostBudget } from './host-budget.js';
import type { Agree } from './shard-vote.js';

/** A kept head is recomputed in full after this many channel updates, so rounding cannot drift far. */
export const HEAD_REFRESH = 64;

/** Chain heads kept per batch key for one group, and the log of the group's output channels changed since. */
export interface HeadCache {
  /**
   * The head of `chain` on the batch `key` with cut `cut`: the kept one brought up to date (recomputed in full
   * after a change of every channel or {@link HEAD_REFRESH} updates), else computed and kept if every shard
   * agrees it fits the host budget.
   */
  head(key: string, chain: DeltaChain, cut: ReadonlyMap<number, tf.Tensor>): ChainHead;
  /** Whether any head is kept, so that changes need logging. */
  keeping(): boolean;
  /** Logs a kept change of output channel `channel` (-1: a change that touches every channel). */
  change(channel: number): void;
  /** Drops every kept head and the log (the group changed); the caller resets the host budget. */
  clear(): void;
  /** Steps whose head was kept, brought up to date (`hits`), and steps that computed it in full (`misses`). */
  stats(): { readonly hits: number; readonly misses: number };
}

/**
 * A head cache within the host budget `host`, shared with the cut cache.
 *
 * @param host - The host budget.
 * @param agree - The shard vote on keeping a computed head (one all-reduce per miss).
 * @param stats - The BN statistics of the head (local or all-reduced).
 */
export function createHeadCache(host: HostBudget, agree: Agree, stats: BatchStats): HeadCache {
  // Heads per chunk, and the output channels changed since the group's search began.
  let heads = new Map<string, { head: ChainHead; version: number }>();
  let changes: number[] = [];
  let hits = 0;
  let misses = 0;
  return {
    head(key, chain, cut) {
      const kept = heads.get(key);
      if (kept !== undefined) {
        hits++;
        if (kept.version < changes.length) {
          const channels = new Set(changes.slice(kept.version));
          if (channels.has(-1) || kept.head.updates + channels.size > HEAD_REFRESH) {
            const fresh = computeHead(chain, cut, stats);
            host.add(fresh.bytes - kept.head.bytes);
            kept.head = fresh;
          } else {
            refreshHead(chain, cut, kept.head, channels, stats);
          }
          kept.version = changes.length;
        }
        return kept.head;
      }
      misses++;
      const head = computeHead(chain, cut, stats);
      const [fits] = agree(host.fits(head.bytes));
      if (fits) {
        heads.set(key, { head, version: changes.length });
        host.add(head.bytes);
      }
      return head;
    },
    keeping: () => heads.size > 0,
    change(channel) {
      changes.push(channel);
    },
    clear() {
      heads = new Map();
      changes = [];
    },
    stats: () => ({ hits, misses }),
  };
}
