// Zipf-distributed ranks without a table: the rejection-inversion method of Hörmann
// and Derflinger ("Rejection-inversion to generate variates from monotone discrete
// distributions", 1996), as in Apache Commons RNG's RejectionInversionZipfSampler.
// O(1) expected per sample (a few uniforms at most, on average), no memory per key,
// no allocation per sample.

/** Below this |x|, helpers use a Taylor series: log1p(x)/x and expm1(x)/x lose precision near 0. */
const SERIES_BELOW = 1e-8;

/** log1p(x) / x, also near x = 0. */
function log1pOverX(x: number): number {
  return Math.abs(x) > SERIES_BELOW ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** expm1(x) / x, also near x = 0. */
function expm1OverX(x: number): number {
  return Math.abs(x) > SERIES_BELOW ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + (x / 3) * (1 + 0.25 * x));
}

export class ZipfSampler {
  private readonly count: number;
  private readonly exponent: number;
  private readonly integralOfFirst: number;
  private readonly integralOfAll: number;
  private readonly squeeze: number;
  private readonly uniform: () => number;

  /**
   * Ranks 1..count with P(k) proportional to 1 / k^exponent; `uniform` returns
   * numbers in [0, 1) (it is the only source of randomness, so a seeded one gives a
   * repeatable sequence). Contract: count is a whole number ≥ 1, exponent > 0 and finite.
   */
  constructor(count: number, exponent: number, uniform: () => number) {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`Zipf over ${count} ranks: need a whole number ≥ 1`);
    if (!(exponent > 0) || !Number.isFinite(exponent)) throw new RangeError(`Zipf exponent ${exponent}: need a finite number > 0`);
    this.count = count;
    this.exponent = exponent;
    this.uniform = uniform;
    this.integralOfFirst = this.integral(1.5) - 1;
    this.integralOfAll = this.integral(count + 0.5);
    this.squeeze = 2 - this.integralInverse(this.integral(2.5) - this.density(2));
  }

  /** A rank from 1 (the most likely) to count. */
  next(): number {
    for (;;) {
      // u is uniform over (integralOfFirst, integralOfAll]; its inverse lands near a rank.
      const u = this.integralOfAll + this.uniform() * (this.integralOfFirst - this.integralOfAll);
      const x = this.integralInverse(u);
      const rank = Math.min(this.count, Math.max(1, Math.floor(x + 0.5)));
      if (rank - x <= this.squeeze || u >= this.integral(rank + 0.5) - this.density(rank)) return rank;
    }
  }

  /** x^-exponent: the unnormalized probability of rank x. */
  private density(x: number): number {
    return Math.exp(-this.exponent * Math.log(x));
  }

  /** An antiderivative of density: (x^(1-exponent) - 1) / (1 - exponent), or log x at exponent 1. */
  private integral(x: number): number {
    const logX = Math.log(x);
    return expm1OverX((1 - this.exponent) * logX) * logX;
  }

  /** The inverse of integral. */
  private integralInverse(y: number): number {
    const t = Math.max(-1, y * (1 - this.exponent));
    return Math.exp(log1pOverX(t) * y);
  }
}
