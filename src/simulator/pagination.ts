/**
 * Cursor pagination shared by the Models and Message Batches list routes:
 * `limit` (1-1000, default 20), `after_id` (the page after that item),
 * `before_id` (the page just before it); envelope `{data, has_more, first_id, last_id}`.
 */

export interface Page<T> {
  data: T[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

export interface PageQuery {
  limit?: unknown;
  after_id?: unknown;
  before_id?: unknown;
}

const one = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);

/** A page of `items` (already in list order), or an error message for a bad query. */
export function paginate<T>(
  items: readonly T[],
  idOf: (t: T) => string,
  q: PageQuery,
): Page<T> | { error: string } {
  const rawLimit = one(q.limit);
  let limit = 20;
  if (rawLimit !== undefined && rawLimit !== '') {
    const n = Number(rawLimit);
    if (!Number.isInteger(n)) return { error: 'limit: Input should be a valid integer' };
    if (n < 1) return { error: 'limit: Input should be greater than or equal to 1' };
    if (n > 1000) return { error: 'limit: Input should be less than or equal to 1000' };
    limit = n;
  }
  const after = one(q.after_id);
  const before = one(q.before_id);
  if (after !== undefined && before !== undefined)
    return { error: 'after_id and before_id cannot both be set' };
  let start = 0;
  let end = items.length;
  let hasMore: boolean;
  if (typeof before === 'string' && before !== '') {
    const i = items.findIndex((t) => idOf(t) === before);
    if (i < 0) return { error: `before_id: no object with id ${before}` };
    end = i;
    start = Math.max(0, end - limit);
    hasMore = start > 0;
  } else {
    if (typeof after === 'string' && after !== '') {
      const i = items.findIndex((t) => idOf(t) === after);
      if (i < 0) return { error: `after_id: no object with id ${after}` };
      start = i + 1;
    }
    end = Math.min(items.length, start + limit);
    hasMore = end < items.length;
  }
  const data = items.slice(start, end);
  return {
    data,
    has_more: hasMore,
    first_id: data.length ? idOf(data[0]) : null,
    last_id: data.length ? idOf(data[data.length - 1]) : null,
  };
}
