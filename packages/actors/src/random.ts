/** A small, fast, seedable PRNG (sfc32): the same seed always gives the same sequence. */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Warm up so that nearby seeds diverge.
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** A stable 32-bit hash of a string (FNV-1a), to derive per-actor seeds from names. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The seed of a node's `incarnation`-th start (0: the first), from the seed of its first: a node
 * started again draws fresh values (ids drawn at start do not repeat), and the first start's
 * stream is the seed itself, so a run without restarts replays as before.
 */
export function incarnationSeed(seed: number, incarnation: number): number {
  return incarnation === 0 ? seed >>> 0 : hashString(`#${incarnation}`, seed);
}
