// "Did you mean …?": the closest known word to a misspelt one, by edit distance.

/**
 * Damerau–Levenshtein distance (adjacent swaps count as one edit: `x86_46` → `x86_64`), but it
 * stops as soon as the distance must exceed `bound` (it then returns some value above `bound`). `nearest` only cares about distances up to 3: stopping early
 * makes a nix.conf of 100 000 misspelt names 20 times faster to lint.
 */
let rows: [Uint32Array, Uint32Array, Uint32Array] = [new Uint32Array(64), new Uint32Array(64), new Uint32Array(64)];

function boundedEditDistance(a: string, b: string, bound: number): number {
  // Three rows of the usual table (the swap looks two rows back), reused across calls: a
  // fresh allocation per candidate was most of the time.
  const cols = b.length + 1;
  if (rows[0].length < cols) rows = [new Uint32Array(cols * 2), new Uint32Array(cols * 2), new Uint32Array(cols * 2)];
  let [before, previous, current] = rows;
  for (let j = 0; j < cols; j++) previous[j] = j;
  let previousMin = 0;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, before[j - 2]! + 1);
      current[j] = best;
      if (best < rowMin) rowMin = best;
    }
    // Every later cell builds on this row or the one before (the swap): both over the bound, so is the end.
    if (rowMin > bound && previousMin > bound) return rowMin;
    previousMin = rowMin;
    [before, previous, current] = [previous, current, before];
  }
  return previous[b.length]!;
}

const counts = new Int32Array(128);

/**
 * A lower bound of the edit distance, linear in the lengths: the characters one word has and
 * the other lacks (each edit fixes at most one of each; a swap changes nothing). Characters
 * outside ASCII share one bucket, which only lowers the bound.
 */
function bagDistance(a: string, b: string): number {
  for (let i = 0; i < a.length; i++) counts[Math.min(a.charCodeAt(i), 127)]!++;
  for (let i = 0; i < b.length; i++) counts[Math.min(b.charCodeAt(i), 127)]!--;
  let extra = 0;
  let missing = 0;
  for (let i = 0; i < a.length + b.length; i++) {
    const c = Math.min(i < a.length ? a.charCodeAt(i) : b.charCodeAt(i - a.length), 127);
    const n = counts[c]!;
    if (n > 0) extra += n;
    else missing -= n;
    counts[c] = 0; // counted once, and the table is clean for the next call
  }
  return Math.max(extra, missing);
}

/**
 * The known word nearest to `word`, when it is near enough to be a slip of the keyboard
 * (at most a third of the word's length, and at most `maxDistance`); else undefined.
 */
export function nearest(word: string, known: Iterable<string>, maxDistance = 3): string | undefined {
  const limit = Math.min(maxDistance, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const candidate of known) {
    // The distance is at least the difference in length: such a candidate cannot be returned.
    const other = candidate.toLowerCase();
    if (Math.abs(other.length - lower.length) > limit) continue;
    const bound = Math.min(limit, bestDistance);
    if (bagDistance(lower, other) > bound) continue; // cheap: most candidates stop here
    const distance = boundedEditDistance(lower, other, bound);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
