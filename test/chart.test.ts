// The HTML charts: round tick values, an x axis that starts where the data does, a
// legend outside the plot, and every label inside the picture.

import { describe, expect, it } from 'vitest';
import { lineChart, niceStep, niceTicks } from '../src/client/chart.ts';

/** Every <text> element's x, y and content. */
function texts(svg: string): { x: number; y: number; text: string; rotated: boolean; endAnchored: boolean }[] {
  return [...svg.matchAll(/<text x="([\d.-]+)" y="([\d.-]+)"([^>]*)>([^<]*)<\/text>/g)]
    .map((m) => ({ x: Number(m[1]), y: Number(m[2]), text: m[4], rotated: m[3].includes('rotate(-90'), endAnchored: m[3].includes('text-anchor="end"') }));
}

describe('chart', () => {
  it('steps are 1, 2, 2.5 or 5 times a power of ten, and ticks cover the data', () => {
    expect([0.37, 1, 3, 7, 23, 180, 4321, 86_000].map(niceStep)).toEqual([0.5, 1, 5, 10, 25, 200, 5000, 100_000]);
    expect(niceTicks(1_047_123)).toEqual([0, 250_000, 500_000, 750_000, 1_000_000, 1_250_000]);
    expect(niceTicks(91_517)).toEqual([0, 20_000, 40_000, 60_000, 80_000, 100_000]);
    for (const max of [0.7, 3, 99.9, 12_345, 7e6]) {
      const ticks = niceTicks(max);
      expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(max);
      expect(ticks.length).toBeLessThanOrEqual(7);
    }
  });

  it('labels y ticks with round numbers, starts x at the first tick, keeps labels and legend off the plot', () => {
    const svg = lineChart('t', 'shard servers', 'requests/s', [
      { name: 'proxy P1', color: '#000', points: [[1, 33_560], [2, 30_100], [3, 28_569]] },
      { name: 'client P16', color: '#f00', points: [[1, 91_517], [2, 76_160], [3, 69_810]] },
    ], [[1, '1 node'], [2, '2 nodes'], [3, '3 nodes']]);
    const width = Number(/width="(\d+)"/.exec(svg)?.[1]);
    const height = Number(/height="(\d+)"/.exec(svg)?.[1]);
    const [plotX, plotY, plotW] = (/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"/.exec(svg) as RegExpExecArray).slice(1).map(Number);
    const labels = texts(svg);
    expect(labels.filter((t) => /^[\d,]+$/.test(t.text)).map((t) => t.text)).toEqual(['0', '20,000', '40,000', '60,000', '80,000', '100,000']);
    expect(labels.find((t) => t.text === '1 node')?.x).toBe(plotX);
    expect(labels.find((t) => t.text === '3 nodes')?.x).toBe(plotX + plotW);
    for (const legend of labels.filter((t) => t.text.startsWith('■'))) expect(legend.y).toBeLessThan(plotY);
    for (const t of labels) {
      const half = (t.text.length * 6.5) / 2; // 11-12 px sans-serif: under 6.5 px a character
      const [along, room] = t.rotated ? [t.y, height] : [t.x, width];
      const [from, to] = t.endAnchored ? [along - 2 * half, along] : [along - half, along + half];
      expect(from, t.text).toBeGreaterThanOrEqual(0);
      expect(to, t.text).toBeLessThanOrEqual(room);
      if (t.rotated) expect(t.x - 8, t.text).toBeGreaterThanOrEqual(0);
    }
    // The y title clears the widest tick label (right-aligned at plotX - 6).
    const widest = Math.max(...labels.filter((t) => /^[\d,]+$/.test(t.text)).map((t) => t.text.length * 6.5));
    expect((labels.find((t) => t.rotated) as { x: number }).x + 8).toBeLessThan(plotX - 6 - widest);
    const points = [...svg.matchAll(/points="([^"]+)"/g)].flatMap((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
    for (const [, y] of points) expect(y).toBeGreaterThanOrEqual(plotY);
  });

  it('a log axis runs over whole powers of ten above the data', () => {
    const svg = lineChart('t', 'x', 'µs', [{ name: 'p99', color: '#000', points: [[0, 40], [1, 2300]] }], [[0, '0 s'], [1, '1 s']], true);
    expect(texts(svg).filter((t) => /^[\d,]+$/.test(t.text)).map((t) => t.text)).toEqual(['1', '10', '100', '1,000', '10,000']);
  });
});
