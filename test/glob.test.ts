// rokv's glob (src/protocol/resp/glob.ts) against Redis: fixed cases recorded from
// redis-server 7.0.15 (Debian 12, with the CVE-2024-31228 fix: KEYS <pattern> over the
// keys below), and a property test against a line-by-line port of Redis 7.2.6's
// stringmatchlen on random patterns and subjects (the port itself agreed with that
// redis-server on 4,000 random patterns over 300 random keys).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Glob, globMatch } from '../src/protocol/resp/glob.ts';

// A line-by-line port of Redis 7.2.6's stringmatchlen_impl (src/util.c), nocase 0:
// pointers become indices, C's terminating NUL is read past the end, chars are signed.
function stringmatchlen(pat: Uint8Array, str: Uint8Array): boolean {
  const skip = { value: false };
  return impl(pat, 0, pat.length, str, 0, str.length, skip, 0);
}
function impl(pat: Uint8Array, p: number, patternLen: number, str: Uint8Array, s: number, stringLen: number, skip: { value: boolean }, nesting: number): boolean {
  const P = (i: number) => (p + i < pat.length ? pat[p + i] : 0);
  const S = (i: number) => (s + i < str.length ? str[s + i] : 0);
  const signed = (b: number) => (b << 24) >> 24;
  if (nesting > 1000) return false;
  while (patternLen && stringLen) {
    switch (P(0)) {
      case 0x2a: // '*'
        while (patternLen && P(1) === 0x2a) { p++; patternLen--; }
        if (patternLen === 1) return true;
        while (stringLen) {
          if (impl(pat, p + 1, patternLen - 1, str, s, stringLen, skip, nesting + 1)) return true;
          if (skip.value) return false;
          s++; stringLen--;
        }
        skip.value = true;
        return false;
      case 0x3f: // '?'
        s++; stringLen--;
        break;
      case 0x5b: { // '['
        p++; patternLen--;
        const not = P(0) === 0x5e;
        if (not) { p++; patternLen--; }
        let match = false;
        for (;;) {
          if (P(0) === 0x5c && patternLen >= 2) {
            p++; patternLen--;
            if (P(0) === S(0)) match = true;
          } else if (P(0) === 0x5d) {
            break;
          } else if (patternLen === 0) {
            p--; patternLen++;
            break;
          } else if (patternLen >= 3 && P(1) === 0x2d) {
            let start = signed(P(0));
            let end = signed(P(2));
            const c = signed(S(0));
            if (start > end) { const t = start; start = end; end = t; }
            p += 2; patternLen -= 2;
            if (c >= start && c <= end) match = true;
          } else if (P(0) === S(0)) {
            match = true;
          }
          p++; patternLen--;
        }
        if (not) match = !match;
        if (!match) return false;
        s++; stringLen--;
        break;
      }
      default: // '\\' (the next byte literally, unless it is the last), or any other byte
        if (P(0) === 0x5c && patternLen >= 2) { p++; patternLen--; }
        if (P(0) !== S(0)) return false;
        s++; stringLen--;
        break;
    }
    p++; patternLen--;
    if (stringLen === 0) {
      while (P(0) === 0x2a) { p++; patternLen--; }
      break;
    }
  }
  return patternLen === 0 && stringLen === 0;
}

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const KEYS = [']', '^', '_', '`', 'a', 'b', 'z', '-', '\\', '\x80', '\xff', '\x00', 'x', 'ax', 'a]x', ']x', 'bx', '', 'ab', 'a\\'];

// [pattern, the keys KEYS answered]
const REDIS: [string, string[]][] = [
  ['[a-]', [']', '^', '_', '`', 'a']],
  ['[a-]x', [']', '^', '_', '`', 'a', 'x']],
  ['[]a]', []],
  ['[]', []],
  ['[^]', ['\x00', '-', '\\', ']', '^', '_', '`', 'a', 'b', 'x', 'z', '\x80', '\xff']],
  ['[^]x', [']x', 'ax', 'bx']],
  ['[z-a]', ['a', 'b', 'x', 'z']],
  ['[a-\xff]', ['\x00', '-', '\\', ']', '^', '_', '`', 'a', '\xff']],
  ['[\x80-\xff]', ['\x80', '\xff']],
  ['[\\]]', [']']],
  ['[\\', ['\\']],
  ['[', []],
  ['[^', ['\x00', '-', '\\', ']', '^', '_', '`', 'a', 'b', 'x', 'z', '\x80', '\xff']],
  ['a[', []],
  ['[^a', ['\x00', '-', '\\', ']', '^', '_', '`', 'b', 'x', 'z', '\x80', '\xff']],
  ['\\', ['\\']],
  ['a\\', ['a\\']],
  ['[a\\', ['\\', 'a']],
  ['[a-\\]', ['\\', ']', '^', '_', '`', 'a']],
  ['**', ['\x00', '-', '\\', ']', ']x', '^', '_', '`', 'a', 'a\\', 'a]x', 'ab', 'ax', 'b', 'bx', 'x', 'z', '\x80', '\xff']],
  ['', ['']],
  ['?', ['\x00', '-', '\\', ']', '^', '_', '`', 'a', 'b', 'x', 'z', '\x80', '\xff']],
  ['[-a]', ['-', 'a']],
  ['[a-b-z]', ['-', 'a', 'b', 'z']],
  ['\\a', ['a']],
  ['a\\*', []],
  ['[!a]', ['a']],
  ['*x', [']x', 'a]x', 'ax', 'bx', 'x']],
  ['?*', ['\x00', '-', '\\', ']', ']x', '^', '_', '`', 'a', 'a\\', 'a]x', 'ab', 'ax', 'b', 'bx', 'x', 'z', '\x80', '\xff']],
  ['*[', []],
  ['[\x00]', ['\x00']],
];

describe('glob patterns, as Redis matches them', () => {
  for (const [pattern, matched] of REDIS) {
    it(`${JSON.stringify(pattern)}`, () => {
      const glob = new Glob(latin1(pattern));
      expect(KEYS.filter((k) => glob.match(latin1(k))).sort()).toEqual(matched);
      expect(KEYS.filter((k) => stringmatchlen(latin1(pattern), latin1(k))).sort()).toEqual(matched);
    });
  }

  it('1,000 nested stars match; the 1,001st gives up unless it ends the pattern (Redis 7.2.6, CVE-2024-31228)', () => {
    const key = latin1('a'.repeat(1001));
    expect(new Glob(latin1('*a'.repeat(1000))).match(key)).toBe(true); // recorded: KEYS matched
    expect(new Glob(latin1('*a'.repeat(1001))).match(key)).toBe(false); // recorded: KEYS matched nothing
    expect(new Glob(latin1(`${'*a'.repeat(1000)}*`)).match(key)).toBe(true);
    expect(new Glob(latin1(`${'*a'.repeat(1000)}*a*`)).match(key)).toBe(false);
    for (const p of ['*a'.repeat(1000), '*a'.repeat(1001), `${'*a'.repeat(1000)}*`, `${'a*'.repeat(1001)}`]) {
      expect(new Glob(latin1(p)).match(key)).toBe(stringmatchlen(latin1(p), key));
    }
  });

  it('random patterns and subjects: the same answers as stringmatchlen', () => {
    const bytes = (alphabet: number[], max: number) => fc.array(fc.constantFrom(...alphabet), { maxLength: max }).map((a) => Uint8Array.from(a));
    const special = [0x2a, 0x3f, 0x5b, 0x5d, 0x5e, 0x2d, 0x5c];
    const plain = [0x61, 0x62, 0x7a, 0x00, 0x5f, 0x80, 0xfe, 0xff];
    fc.assert(fc.property(bytes([...special, ...plain], 14), fc.array(bytes([...plain, ...special], 12), { minLength: 1, maxLength: 8 }), (pattern, subjects) => {
      const glob = new Glob(pattern);
      for (const s of subjects) expect(glob.match(s)).toBe(stringmatchlen(pattern, s));
    }), { numRuns: 20_000 });
  });

  it('a subject inside a larger buffer, and the one-off globMatch', () => {
    const buf = latin1('xxhello-worldyy');
    expect(new Glob(latin1('h*d')).match(buf, 2, 13)).toBe(true);
    expect(new Glob(latin1('h*d')).match(buf, 2, 14)).toBe(false);
    expect(globMatch(latin1('max*'), latin1('maxclients'))).toBe(true);
  });
});

describe('bounded work', () => {
  const keys = Array.from({ length: 100_000 }, (_, i) => latin1(`${String(i).padStart(8, '0')}-9b2c-4d1e-8f00-${String(i * 7).padStart(12, '0')}`));

  it('65,535 stars then x, and one 65,533-byte class: compiled once, a few steps per key', () => {
    for (const pattern of [latin1(`${'*'.repeat(65_535)}x`), latin1(`[${'a'.repeat(65_533)}]`)]) {
      const started = performance.now();
      const glob = new Glob(pattern);
      let matched = 0;
      for (const k of keys) if (glob.match(k)) matched++;
      expect(matched).toBe(0);
      expect(glob.work).toBeLessThan(10 * keys.length);
      expect(performance.now() - started).toBeLessThan(500); // was 7.6 s and 18.6 s through SCAN
    }
  });

  it('work is counted: a key costs at most about its length × the longest segment', () => {
    const key = latin1('a'.repeat(2000));
    const glob = new Glob(latin1(`*${'a'.repeat(999)}b*`));
    expect(glob.match(key)).toBe(false);
    expect(glob.work).toBeGreaterThan(900_000);
    expect(glob.work).toBeLessThan(2_100_000);
  });
});
