/**
 * The request body as it goes upstream: the one place it is rewritten.
 *
 * Stages that change the request (policy: aliases, routing, `max_tokens`,
 * prompt caching; admit: a budget's downgrade; upstream: a fallback model)
 * change `ex.body` through `setBodyFields` and never touch bytes. The bytes
 * sent are built once, by `requestBytes`, when the upstream stage sends:
 * the client's bytes untouched when nothing changed, else one serialisation of
 * the (shape-checked, duplicate-free) body.
 */
import type { Exchange } from './exchange.ts';

/** Sets top-level fields of the request body; the bytes are rebuilt once, at send time. */
export function setBodyFields(ex: Exchange, fields: Record<string, unknown>): void {
  if (!ex.body) return;
  Object.assign(ex.body, fields);
  ex.bodyChanged = true;
}

/**
 * The bytes to send upstream for `model` (the body's own model when omitted):
 * the client's bytes when nothing changed, else the body serialised once (and
 * once more per fallback model tried).
 */
export function requestBytes(ex: Exchange, model?: string): Buffer | undefined {
  const body = ex.body;
  if (!body) return ex.rawBody;
  const sameModel = model === undefined || model === body.model;
  if (sameModel && !ex.bodyChanged) return ex.rawBody;
  if (sameModel) {
    ex.rawBody = Buffer.from(JSON.stringify(body));
    ex.bodyChanged = false;
    return ex.rawBody;
  }
  return Buffer.from(JSON.stringify({ ...body, model }));
}
