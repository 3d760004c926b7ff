/**
 * The routes Gantry serves: one table. Only these paths are ever forwarded, so
 * a client cannot reach anything else on the upstream; `{id}` parameters are
 * restricted to the characters ids use.
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

/** The id shape accepted in `:id` segments. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;
