/** The Models API routes: `GET /v1/models` (paged, by lifecycle) and `GET /v1/models/{model_id}`. */
import { type ApiLifecycle, resolveModel } from '../../anthropic/models.ts';
import type { SimApi } from '../http.ts';
import { API_LIFECYCLES, MODEL_INFOS, modelInfoById } from '../models-api.ts';
import { paginate } from '../pagination.ts';

export function registerModels({ app, send, sendError }: SimApi): void {
  const cfg = { api: true, family: 'anthropic' as const };

  app.get('/v1/models', { config: cfg }, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const raw = q['lifecycle[]'] ?? q.lifecycle;
    let wanted: ApiLifecycle[] = ['active', 'deprecated'];
    if (raw !== undefined) {
      const list = (Array.isArray(raw) ? raw : String(raw).split(',')).map(String);
      for (const l of list) {
        if (!(API_LIFECYCLES as readonly string[]).includes(l)) {
          return sendError(
            reply,
            400,
            'invalid_request_error',
            `lifecycle: Input should be 'active', 'deprecated' or 'retired'`,
          );
        }
      }
      wanted = list as ApiLifecycle[];
    }
    const items = MODEL_INFOS.filter((m) => wanted.includes(m.lifecycle));
    const page = paginate(items, (m) => m.id, q);
    if ('error' in page) return sendError(reply, 400, 'invalid_request_error', page.error);
    return send(reply, 200, page);
  });

  app.get('/v1/models/:model_id', { config: cfg }, async (req, reply) => {
    const id = decodeURIComponent((req.params as { model_id: string }).model_id);
    const entry = resolveModel(id);
    const info = entry ? modelInfoById(entry.id) : undefined;
    if (!info) return sendError(reply, 404, 'not_found_error', `model: ${id}`);
    return send(reply, 200, info);
  });
}
