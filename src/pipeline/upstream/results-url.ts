/**
 * Batch objects name where their results are (`results_url`): on the upstream.
 * The gateway points them at itself, so clients fetch results through it with
 * their virtual key (and the results are accounted): `server.public_url` when
 * configured, else a path the SDKs join to their base URL. Never the request's
 * `Host` header.
 */

/** Batch routes whose JSON answers carry `results_url`. */
export const BATCH_OBJECT_ROUTES: ReadonlySet<string> = new Set([
  'batches.create',
  'batches.list',
  'batches.retrieve',
  'batches.cancel',
]);

/** Rewrites `results_url` values under `upstreamBase` to `publicBase` (`''`: a path), in one batch or a list. */
export function rewriteResultsUrls(buf: Buffer, upstreamBase: string, publicBase: string): Buffer {
  if (!buf.includes('"results_url"')) return buf;
  let changed = false;
  const fix = (batch: { results_url?: unknown }) => {
    if (typeof batch?.results_url === 'string' && batch.results_url.startsWith(upstreamBase)) {
      batch.results_url = publicBase + batch.results_url.slice(upstreamBase.length);
      changed = true;
    }
  };
  try {
    const parsed = JSON.parse(buf.toString('utf8')) as { results_url?: unknown; data?: unknown };
    fix(parsed);
    if (Array.isArray(parsed.data)) for (const item of parsed.data) fix(item);
    return changed ? Buffer.from(JSON.stringify(parsed)) : buf;
  } catch {
    return buf;
  }
}
