/**
 * Seedable randomness for the simulated carrier. Every decision (outcome, error code,
 * delays, duplicates, reordering, 429s) draws from one generator, so a test that sets
 * `seed` replays the exact same carrier behaviour for the same requests.
 */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** True with probability `p`; draws nothing for 0 and 1 so fixed settings keep sequences stable. */
  chance(p: number): boolean;
  /** Integer uniform in [min, max]. */
  between(min: number, max: number): number;
  /** A key of `weights`, chosen proportionally to its weight. */
  weighted(weights: Record<string, number>): string;
}

/** mulberry32: tiny, fast and good enough for simulation; not for anything secret. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance: (p) => p >= 1 || (p > 0 && next() < p),
    between: (min, max) => max <= min ? min : min + Math.floor(next() * (max - min + 1)),
    weighted: (weights) => pickWeighted(weights, next),
  };
}

function pickWeighted(weights: Record<string, number>, next: () => number): string {
  const entries = Object.entries(weights).filter(([, w]) => w > 0);
  if (entries.length === 0) throw new Error("no positive weight to choose from");
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let roll = next() * total;
  for (const [key, weight] of entries) {
    roll -= weight;
    if (roll < 0) return key;
  }
  return entries[entries.length - 1][0];
}

/** A seed for when none is configured: runs differ, as real carriers do. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
