import assert from 'node:assert/strict';
import { send } from './helpers.ts';

/** GET /metrics as Prometheus would: each series, written `name{label="value",...}`, to its value. */
export async function scrapeMetrics(base: string): Promise<Map<string, number>> {
  const answer = await send(`${base}/metrics`, {});
  assert.equal(answer.status, 200, answer.text);
  assert.match(answer.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const series = new Map<string, number>();
  for (const line of answer.text.split('\n')) {
    const match = /^([a-z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) series.set(match[1]!, Number(match[2]));
  }
  return series;
}
