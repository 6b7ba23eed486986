// Redis's glob patterns (util.c: stringmatchlen, case-sensitive) over bytes, for SCAN
// MATCH and CONFIG GET, with Redis 7's answers exactly — and in bounded time.
//
// What stringmatchlen does, and so what this does:
// - `*` any run of bytes, `?` one byte, `\x` a literal x (a `\` at the very end is a
//   literal `\`); `[...]` one byte of a class: `[^...]` negated, `a-z` a range (ends
//   given backwards are swapped; ends compare as C's signed chars, so `[a-\xff]` is
//   \xff and \x00-a, not a-\xff), `\x` a literal inside it; `-` is a range whenever two
//   bytes follow it, even `]`: `[a-]` is the range `]`..`a` and the class runs on. A
//   `]` right after `[` (or `[^`) closes an empty class. A `[` never closed takes the
//   rest of the pattern as its class; a `[` at the very end matches nothing, `[^` at
//   the very end any byte.
// - An empty subject matches only the empty pattern (not even `*`).
// - Redis 7.2.6 (CVE-2024-31228) stops at 1,000 nested `*`: a pattern whose 1,001st
//   run of stars is not its end matches nothing.
//
// Instead of stringmatchlen's backtracking, a pattern is compiled once (classes become
// 256-entry tables, runs of stars one) into the segments between its stars: the first
// must match the subject's start, the last its end, those between at their leftmost
// place in order — the same answers, with each subject costing at most about
// subject × longest segment steps, counted in `work` so a caller can bound a call.

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

/** Star runs past this many make stringmatchlen give up (Redis 7.2.6: nesting > 1000). */
const MAX_STAR_RUNS = 1001;
/** Subjects SCAN matches are keys: at most 65,535 bytes. */
const MAX_SUBJECT = 65_535;

const LITERAL = 0;
const ANY = 1;
const CLASS = 2;

/** C's signed char. */
const signed = (byte: number) => (byte << 24) >> 24;

export class Glob {
  /** Steps taken by match() so far (byte comparisons and positions tried). */
  work = 0;
  /** Matches nothing (more non-star tokens than any subject holds, or past the star-run limit). */
  private readonly never: boolean;
  /** The pattern is empty: it matches only an empty subject. */
  private readonly empty: boolean;
  private readonly hasStar: boolean;
  /** Token i: kind (LITERAL, ANY, CLASS) and value (the byte, or the class's index). */
  private readonly kinds: Uint8Array;
  private readonly values: Int32Array;
  /** 256 bytes a class: 1 where a byte matches. */
  private readonly classes: Uint8Array[];
  /** Segments between stars: tokens [segStart[k], segEnd[k]); with a star, the first is anchored at the start and the last at the end. */
  private readonly segStart: number[];
  private readonly segEnd: number[];
  /** Tokens in all (each matches one byte). */
  private readonly length: number;

  constructor(pattern: Uint8Array, maxSubject = MAX_SUBJECT) {
    const n = pattern.length;
    const at = (i: number) => (i < n ? pattern[i] : 0); // C reads the pattern's terminating NUL
    const kinds: number[] = [];
    const values: number[] = [];
    const classes: Uint8Array[] = [];
    const segStart = [0];
    const segEnd: number[] = [];
    let starRuns = 0;
    let endsWithStar = false;
    let never = false;
    let p = 0;
    while (p < n) {
      const c = pattern[p];
      if (c === STAR) {
        while (p + 1 < n && pattern[p + 1] === STAR) p++;
        p++;
        if (++starRuns > MAX_STAR_RUNS) {
          never = true;
          break;
        }
        segEnd.push(kinds.length);
        segStart.push(kinds.length);
        endsWithStar = true;
        continue;
      }
      endsWithStar = false;
      if (kinds.length === maxSubject) {
        never = true; // no subject is long enough
        break;
      }
      if (c === QUESTION) {
        kinds.push(ANY);
        values.push(0);
      } else if (c === OPEN) {
        const table = new Uint8Array(256);
        p++;
        const negate = at(p) === CARET;
        if (negate) p++;
        for (;;) {
          if (at(p) === BACKSLASH && n - p >= 2) {
            p++;
            table[pattern[p]] = 1;
          } else if (at(p) === CLOSE) {
            break;
          } else if (n - p === 0) {
            p--;
            break;
          } else if (n - p >= 3 && pattern[p + 1] === DASH) {
            let low = signed(pattern[p]);
            let high = signed(pattern[p + 2]);
            if (low > high) [low, high] = [high, low];
            // Signed [low, high] as bytes: negative values are 0x80..0xff.
            if (high < 0 || low >= 0) table.fill(1, low & 0xff, (high & 0xff) + 1);
            else {
              table.fill(1, low & 0xff, 256);
              table.fill(1, 0, high + 1);
            }
            p += 2;
          } else {
            table[pattern[p]] = 1;
          }
          p++;
        }
        if (negate) for (let b = 0; b < 256; b++) table[b] ^= 1;
        kinds.push(CLASS);
        values.push(classes.length);
        classes.push(table);
      } else if (c === BACKSLASH && n - p >= 2) {
        p++;
        kinds.push(LITERAL);
        values.push(pattern[p]);
      } else {
        kinds.push(LITERAL);
        values.push(c);
      }
      p++;
    }
    segEnd.push(kinds.length);
    if (starRuns === MAX_STAR_RUNS && !endsWithStar) never = true;
    this.never = never;
    this.empty = n === 0;
    this.hasStar = starRuns > 0;
    this.kinds = Uint8Array.from(kinds);
    this.values = Int32Array.from(values);
    this.classes = classes;
    this.segStart = segStart;
    this.segEnd = segEnd;
    this.length = kinds.length;
  }

  /** Whether subject[start, end) matches, as stringmatchlen(pattern, subject, nocase 0) answers. */
  match(subject: Uint8Array, start = 0, end = subject.length): boolean {
    const n = end - start;
    this.work++;
    if (this.never) return false;
    if (n === 0) return this.empty;
    if (!this.hasStar) return n === this.length && this.segmentAt(0, subject, start);
    if (n < this.length) return false;
    const last = this.segStart.length - 1;
    const tail = end - (this.segEnd[last] - this.segStart[last]);
    if (!this.segmentAt(0, subject, start) || !this.segmentAt(last, subject, tail)) return false;
    let pos = start + this.segEnd[0] - this.segStart[0];
    for (let k = 1; k < last; k++) {
      const size = this.segEnd[k] - this.segStart[k];
      let i = pos;
      while (i + size <= tail && !this.segmentAt(k, subject, i)) i++;
      if (i + size > tail) return false;
      pos = i + size;
    }
    return true;
  }

  /** Whether segment k matches subject at position at (the room is there). */
  private segmentAt(k: number, subject: Uint8Array, at: number): boolean {
    const kinds = this.kinds;
    const values = this.values;
    const from = this.segStart[k];
    const to = this.segEnd[k];
    let s = at;
    for (let t = from; t < to; t++, s++) {
      const kind = kinds[t];
      if (kind === LITERAL ? subject[s] !== values[t] : kind === CLASS && this.classes[values[t]][subject[s]] === 0) {
        this.work += t - from + 1;
        return false;
      }
    }
    this.work += to - from + 1;
    return true;
  }
}

/** stringmatchlen(pattern, subject[start, end), nocase 0): compiles the pattern each call (for one-off matches). */
export function globMatch(pattern: Uint8Array, subject: Uint8Array, start = 0, end = subject.length): boolean {
  return new Glob(pattern, Math.max(end - start, 0)).match(subject, start, end);
}
