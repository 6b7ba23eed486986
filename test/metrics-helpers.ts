// Reading /metrics in tests: a strict parser of Prometheus's text exposition format
// (every sample line, a HELP and a TYPE for each family) and a sample lookup.

import { expect } from 'vitest';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format strictly: every sample line, HELP and TYPE for each family. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Set<string>();
  const helped = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (m) {
      (m[1] === 'HELP' ? helped : typed).add(m[2]);
      if (m[1] === 'TYPE') expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(m[3]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `not a sample line: ${line}`).not.toBe(null);
    const [, name, labelText, value] = m as RegExpExecArray;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    const number = value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : /^nan$/i.test(value) ? NaN : Number(value);
    expect(Number.isNaN(number) && !/^nan$/i.test(value), `${line}: not a number`).toBe(false);
    if (name.startsWith('rokv_')) expect(Number.isFinite(number), line).toBe(true);
    samples.push({ name, labels, value: number });
  }
  for (const s of samples) {
    const family = s.name.replace(/_(bucket|sum|count)$/, '');
    expect(typed.has(s.name) || typed.has(family), `no TYPE for ${s.name}`).toBe(true);
    expect(helped.has(s.name) || helped.has(family), `no HELP for ${s.name}`).toBe(true);
  }
  return samples;
}

export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

export async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

