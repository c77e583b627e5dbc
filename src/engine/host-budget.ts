/**
 * The host (JS) memory budget shared by the cut cache's host copies and the kept chain heads: both count their
 * bytes here, against one limit (`hostCacheBytes`).
 */
export interface HostBudget {
  /** Host bytes counted now. */
  readonly used: number;
  /** Whether `bytes` more would stay within the limit. */
  fits(bytes: number): boolean;
  /** Counts `bytes` more (negative to count fewer). */
  add(bytes: number): void;
  /** Counts nothing (the caches were dropped). */
  reset(): void;
}

/** A host budget of `limit` bytes, empty. */
export function createHostBudget(limit: number): HostBudget {
  let used = 0;
  return {
    get used() {
      return used;
    },
    fits: (bytes) => used + bytes <= limit,
    add(bytes) {
      used += bytes;
    },
    reset() {
      used = 0;
    },
  };
}
