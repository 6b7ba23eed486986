// Redis's glob patterns (stringmatchlen) over bytes, for SCAN MATCH and CONFIG GET:
// `*` any run, `?` one byte, `[abc]`, `[^a]`, `[a-z]` classes, `\x` a literal x.
// Backtracks only to the last `*`, so a pattern costs O(pattern × subject) at worst.

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

/** Whether the class starting at pattern[p] ('[') matches byte c; returns [matched, index after ']']. */
function matchClass(pattern: Uint8Array, p: number, c: number): [boolean, number] {
  p++;
  const negate = pattern[p] === CARET;
  if (negate) p++;
  let matched = false;
  while (p < pattern.length && pattern[p] !== CLOSE) {
    if (pattern[p] === BACKSLASH && p + 1 < pattern.length) {
      p++;
      if (pattern[p] === c) matched = true;
      p++;
    } else if (p + 2 < pattern.length && pattern[p + 1] === DASH && pattern[p + 2] !== CLOSE) {
      let low = pattern[p];
      let high = pattern[p + 2];
      if (low > high) [low, high] = [high, low];
      if (c >= low && c <= high) matched = true;
      p += 3;
    } else {
      if (pattern[p] === c) matched = true;
      p++;
    }
  }
  // An unclosed class ends at the pattern's end, as in Redis.
  return [negate ? !matched : matched, p < pattern.length ? p + 1 : p];
}

export function globMatch(pattern: Uint8Array, subject: Uint8Array, sStart = 0, sEnd = subject.length): boolean {
  let p = 0;
  let s = sStart;
  let starP = -1;
  let starS = 0;
  while (s < sEnd) {
    if (p < pattern.length) {
      const c = pattern[p];
      if (c === STAR) {
        while (p < pattern.length && pattern[p] === STAR) p++;
        if (p === pattern.length) return true;
        starP = p;
        starS = s;
        continue;
      }
      if (c === QUESTION) {
        p++;
        s++;
        continue;
      }
      if (c === OPEN) {
        const [matched, next] = matchClass(pattern, p, subject[s]);
        if (matched) {
          p = next;
          s++;
          continue;
        }
      } else {
        let literal = c;
        let next = p + 1;
        if (c === BACKSLASH && p + 1 < pattern.length) {
          literal = pattern[p + 1];
          next = p + 2;
        }
        if (literal === subject[s]) {
          p = next;
          s++;
          continue;
        }
      }
    }
    if (starP < 0) return false;
    p = starP;
    s = ++starS;
  }
  while (p < pattern.length && pattern[p] === STAR) p++;
  return p === pattern.length;
}
