/**
 * validate: the body is a JSON object of the route's basic shape. Reads the
 * fields later stages need (`model`, `stream`). Everything else, including
 * fields Gantry does not know, passes through untouched: the upstream remains
 * the judge of the Messages schema (forward compatibility with new features).
 */
import { GantryError } from '../errors.ts';
import type { Stage } from './stage.ts';

export function validate(): Stage {
  return {
    name: 'validate',
    request(ex) {
      if (!ex.route.body) return;
      const body = ex.body;
      if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new GantryError('invalid_body', 'The request body must be a JSON object.');
      }
      if (ex.route.kind === 'messages' || ex.route.kind === 'count_tokens') {
        const { model, stream } = body;
        if (model !== undefined && typeof model !== 'string') {
          throw new GantryError('invalid_body', '`model`: expected a string.');
        }
        if (stream !== undefined && typeof stream !== 'boolean') {
          throw new GantryError('invalid_body', '`stream`: expected a boolean.');
        }
        ex.model = model;
        ex.stream = ex.route.kind === 'messages' && stream === true;
      }
    },
  };
}
