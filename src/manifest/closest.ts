/**
 * "Did you mean" suggestions: the candidate nearest to a misspelt name, by
 * edit distance (Damerau-Levenshtein, optimal string alignment) on code points.
 */

/** Edit distance between two strings, counting insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const s = [...a];
  const t = [...b];
  if (s.length === 0) return t.length;
  if (t.length === 0) return s.length;
  // Three rolling rows: the swap rule looks two rows back.
  let twoBack = new Array<number>(t.length + 1).fill(0);
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  let current = new Array<number>(t.length + 1).fill(0);
  for (let i = 1; i <= s.length; i++) {
    current[0] = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, twoBack[j - 2]! + 1);
      }
      current[j] = best;
    }
    [twoBack, previous, current] = [previous, current, twoBack];
  }
  return previous[t.length]!;
}

/**
 * The candidate closest to `name`, or undefined when none is close enough to be
 * a plausible typo. A candidate differing only in letter case always wins;
 * otherwise the distance must be at most a third of the longer name (at least 1).
 */
export function closestName(name: string, candidates: string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestFolded = Number.POSITIVE_INFINITY;
  let bestExact = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const folded = editDistance(lower, candidate.toLowerCase());
    const limit = Math.max(1, Math.floor(Math.max([...name].length, [...candidate].length) / 3));
    if (folded > limit || folded > bestFolded) continue;
    // Case-insensitive distance ranks first (a case-only difference is 0); exact-case distance breaks ties.
    const exact = editDistance(name, candidate);
    if (folded < bestFolded || exact < bestExact) {
      best = candidate;
      bestFolded = folded;
      bestExact = exact;
    }
  }
  return best;
}
