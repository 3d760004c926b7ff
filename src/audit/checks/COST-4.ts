/**
 * COST-4: model ids exist and are current. Every model id the repository
 * names (code literals, and `.env*`, YAML, JSON, TOML files), normalised from
 * Bedrock / Vertex / LiteLLM spellings, is judged against the catalog on the
 * audit date: unknown or retired `fail` (with a "did you mean"), deprecated
 * `warn`; a retired id written for Bedrock or Vertex is a `warn` (those
 * platforms keep some models longer). Ids in tests and fixtures are reported
 * one level lower (fail → warn, warn → evidence). All valid: `manual` (is the
 * model the right size for each task?).
 */
import { closestModelIds, resolveModel, statusOf } from '../../anthropic/models.ts';
import type { ModelIdHit } from '../context.ts';
import type { Evidence, Finding } from '../result.ts';
import { at, type Evaluator, findings, manual, NO_CLAUDE, na } from './util.ts';

function judgeModelId(h: ModelIdHit, now: Date): { level: 'fail' | 'warn' | 'ok'; message: string } {
  const entry = resolveModel(h.id);
  const name = h.raw === h.id ? h.id : `${h.raw} (${h.id})`;
  if (!entry) {
    const near = closestModelIds(h.id, 2, { now });
    return {
      level: 'fail',
      message: `unknown model id ${name}${near.length ? `; did you mean ${near.join(' or ')}?` : ''}`,
    };
  }
  const stage = statusOf(entry, now);
  const day = entry.retires_at?.slice(0, 10);
  if (stage === 'retired') {
    if (h.platform)
      return {
        level: 'warn',
        message: `model ${name} is retired on the Anthropic API${day ? ` since ${day}` : ''}; check ${h.platform === 'bedrock' ? 'Bedrock' : 'Vertex AI'}'s own lifecycle`,
      };
    return { level: 'fail', message: `model ${name} is retired${day ? ` since ${day}` : ''}` };
  }
  if (stage === 'deprecated')
    return { level: 'warn', message: `model ${name} is deprecated${day ? `; retires ${day}` : ''}` };
  return { level: 'ok', message: `uses ${entry.id}` };
}

export const evaluate: Evaluator = (ctx) => {
  const ids = ctx.modelIds;
  if (ids.length === 0)
    return ctx.usesClaude
      ? manual('no model id found in code or config; confirm each task uses a fitting model')
      : na(NO_CLAUDE);
  if (!ctx.usesClaude && ids.every((h) => h.test)) return na(NO_CLAUDE);
  const list: Finding[] = [];
  const used = new Map<string, Evidence>();
  for (const h of ids) {
    const j = judgeModelId(h, ctx.now);
    if (j.level === 'ok') {
      if (!used.has(h.id)) used.set(h.id, at(h, j.message));
      continue;
    }
    if (h.test) {
      if (j.level === 'fail') list.push({ ...at(h, `${j.message} (in a test or fixture)`), level: 'warn' });
      continue;
    }
    list.push({ ...at(h, j.message), level: j.level });
  }
  const ev = [...used.values()];
  if (list.length > 0) return findings(`${list.length} model id problem(s)`, list, ev);
  return manual(
    `model ids are valid (${[...used.keys()].join(', ')}); confirm each task uses the cheapest adequate model`,
    ev,
  );
};
