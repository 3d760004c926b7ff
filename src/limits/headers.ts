/**
 * The `gantry-ratelimit-*` response headers: what an admitted (or refused)
 * request has left in each rate-limit dimension, named like the API's own
 * `anthropic-ratelimit-*` headers.
 */
import { msUntilFull } from './bucket.ts';
import type { Dimension, TakenBucket } from './types.ts';

const HEADER_NAME: Record<Dimension, string> = {
  rpm: 'requests',
  input_tpm: 'input-tokens',
  output_tpm: 'output-tokens',
};
/** The three header names of each dimension, made once. */
const HEADER_NAMES = Object.fromEntries(
  Object.entries(HEADER_NAME).map(([dim, name]) => [
    dim,
    {
      limit: `gantry-ratelimit-${name}-limit`,
      remaining: `gantry-ratelimit-${name}-remaining`,
      reset: `gantry-ratelimit-${name}-reset`,
    },
  ]),
) as Record<Dimension, { limit: string; remaining: string; reset: string }>;
/**
 * `gantry-ratelimit-{requests,input-tokens,output-tokens}-{limit,remaining,reset}`
 * from the most constrained bucket of each dimension (lowest remaining).
 * `reset` is when that bucket is full again (RFC 3339, like the upstream's).
 */
export function rateHeaders(
  buckets: readonly TakenBucket[],
  levels: readonly number[],
  now: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  const best = new Map<Dimension, number>();
  buckets.forEach((b, i) => {
    const prev = best.get(b.dim);
    if (prev === undefined || levels[i] < levels[prev]) best.set(b.dim, i);
  });
  for (const [dim, i] of best) {
    const b = buckets[i];
    const names = HEADER_NAMES[dim];
    out[names.limit] = String(b.capacity);
    out[names.remaining] = String(Math.max(0, Math.floor(levels[i])));
    out[names.reset] = isoSecond(Math.ceil((now + msUntilFull(levels[i], b.capacity, b.ratePerMs)) / 1000));
  }
  return out;
}

// Reset times fall on whole seconds and repeat from request to request:
// format each second once (Date + toISOString cost more than the rest of the headers).
const isoCache = new Map<number, string>();
function isoSecond(seconds: number): string {
  let text = isoCache.get(seconds);
  if (text === undefined) {
    if (isoCache.size >= 256) isoCache.clear();
    text = new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
    isoCache.set(seconds, text);
  }
  return text;
}
