/**
 * "Did you mean ...?" for misspelt keys and names.
 */

/**
 * Returns the candidate closest to `word` by Damerau-Levenshtein distance (optimal string
 * alignment: insert, delete, substitute, swap two neighbours; compared case-insensitively), or
 * `undefined` when even the closest is too far: the distance must be at most
 * `max(1, floor(word.length / 3))`. Ties go to the candidate listed first.
 *
 * `suggest('timout', ['shell', 'timeout'])` → `'timeout'`; `suggest('xyz', ['timeout'])` → `undefined`.
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  const needle = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(needle, candidate.toLowerCase());
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance between `a` and `b`, in UTF-16 code units. */
export function editDistance(a: string, b: string): number {
  // Three rolling rows: the swap rule looks two rows back.
  let twoBack: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(previous, j) + 1, at(current, j - 1) + 1, at(previous, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, at(twoBack, j - 2) + 1);
      }
      current.push(d);
    }
    twoBack = previous;
    previous = current;
  }
  return at(previous, b.length);
}

function at(row: readonly number[], index: number): number {
  return row[index] ?? Infinity;
}
