/**
 * The routes Gantry serves: one table. Only these paths are ever forwarded, so
 * a client cannot reach anything else on the upstream. The upstream target is
 * built from this table alone (`upstreamTarget`): the route's own path, the
 * validated id (`ID_PATTERN`: the characters ids use, no dot segments) and the
 * client's query re-encoded parameter by parameter. Nothing of the client's
 * request line is forwarded as written.
 */

export type RouteKind =
  | 'unmatched' // requests answered before routing (404, 405, body errors)
  | 'messages'
  | 'count_tokens'
  | 'models.list'
  | 'models.retrieve'
  | 'batches.create'
  | 'batches.list'
  | 'batches.retrieve'
  | 'batches.cancel'
  | 'batches.delete'
  | 'batches.results';

export interface RouteDef {
  kind: RouteKind;
  method: 'GET' | 'POST' | 'DELETE';
  /** Path pattern; `:name` segments match `[A-Za-z0-9_.:-]+`. */
  path: string;
  /** Whether the request carries a JSON body. */
  body: boolean;
}

export const ROUTES: readonly RouteDef[] = [
  { kind: 'messages', method: 'POST', path: '/v1/messages', body: true },
  { kind: 'count_tokens', method: 'POST', path: '/v1/messages/count_tokens', body: true },
  { kind: 'models.list', method: 'GET', path: '/v1/models', body: false },
  { kind: 'models.retrieve', method: 'GET', path: '/v1/models/:id', body: false },
  { kind: 'batches.create', method: 'POST', path: '/v1/messages/batches', body: true },
  { kind: 'batches.list', method: 'GET', path: '/v1/messages/batches', body: false },
  { kind: 'batches.retrieve', method: 'GET', path: '/v1/messages/batches/:id', body: false },
  { kind: 'batches.cancel', method: 'POST', path: '/v1/messages/batches/:id/cancel', body: false },
  { kind: 'batches.delete', method: 'DELETE', path: '/v1/messages/batches/:id', body: false },
  { kind: 'batches.results', method: 'GET', path: '/v1/messages/batches/:id/results', body: false },
];

/**
 * The id shape accepted in `:id` segments: the characters API ids use, never a
 * dot segment (`.`, `..`) nor a run of dots, whatever encoding the client used
 * (the router decodes `%2e` before this check).
 */
export const ID_PATTERN = /^(?!.*\.\.)[A-Za-z0-9_:-][A-Za-z0-9_.:-]{0,199}$/;

/**
 * The path and query sent upstream for a matched route: the route's path with
 * `:id` replaced by the (validated, percent-encoded) id, then the client's query
 * parameters re-encoded one by one (`limit=1000`, `beta=true`, ...).
 */
export function upstreamTarget(route: RouteDef, id: string | undefined, rawQuery: string): string {
  let path = route.path;
  if (id !== undefined) path = path.replace(':id', encodeURIComponent(id));
  if (rawQuery === '') return path;
  const query = new URLSearchParams(rawQuery).toString();
  return query === '' ? path : `${path}?${query}`;
}
