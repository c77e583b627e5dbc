/**
 * A per-layer seed from the model seed and the layer's index, a nonzero unsigned 32-bit integer.
 * Nonzero matters: tfjs treats seed 0 as "no seed" and falls back to an unseeded draw (rand_util).
 */
export function layerSeed(seed: number, index: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 0x1_0000_0000) >>> 0;
  // 0x9e3779b9: 2^32 / golden ratio (Knuth's multiplicative hashing constant).
  const h = fmix32(lo ^ fmix32(hi ^ fmix32(Math.imul(index + 1, 0x9e3779b9))));
  return h === 0 ? 1 : h;
}

/** MurmurHash3's 32-bit finaliser (Austin Appleby, MurmurHash3.cpp, public domain constants). */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
