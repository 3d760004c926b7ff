/**
 * KEY-4: each environment has its own key. Gantry environments (two or more),
 * or per-environment key variables, pass; one real key value in several env
 * files fails; a single key variable is a `warn` to confirm; else `manual`.
 */
import type { Hit } from '../scan.ts';
import { placeholderValue } from './keys.ts';
import {
  at,
  configEvidence,
  type Evaluator,
  fail,
  findings,
  manual,
  NO_CLAUDE,
  na,
  ok,
  warn,
} from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  if (!ctx.usesClaude) return na(NO_CLAUDE);
  const envs = ctx.config?.resolved ? Object.values(ctx.config.resolved.environments) : [];
  if (envs.length >= 2) {
    return ok(
      `Gantry declares ${envs.length} environments, each with its own upstream key`,
      envs.map((e) => configEvidence(ctx, `environments.${e.name}`, `${e.name}: ${e.upstreamKey}`)),
    );
  }
  const values = new Map<string, Hit[]>();
  for (const h of ctx.scan.byRule('env-file-key')) {
    const v = h.groups?.[2] ?? '';
    if (placeholderValue(v)) continue;
    values.set(v, [...(values.get(v) ?? []), h]);
  }
  const shared = [...values.values()].filter((hs) => new Set(hs.map((h) => h.file)).size > 1);
  if (shared.length > 0) {
    return findings(
      'one key value is used by several environments',
      shared.flat().map((h) => fail(at(h, 'same key value as another environment file'))),
    );
  }
  const vars = new Map<string, Hit[]>();
  for (const h of ctx.scan.byRule('key-variable')) {
    const name = h.groups?.[0] ?? '';
    vars.set(name, [...(vars.get(name) ?? []), h]);
  }
  const perEnv = [...vars.keys()].filter((n) =>
    /_(PROD|PRODUCTION|STAGING|STAGE|DEV|DEVELOPMENT|TEST|LOCAL)$/.test(n),
  );
  if (perEnv.length >= 2)
    return ok(
      `per-environment key variables: ${perEnv.join(', ')}`,
      perEnv.map((n) => at((vars.get(n) as Hit[])[0], n)),
    );
  if (vars.size === 1) {
    const [[name, hits]] = [...vars.entries()];
    const first = hits.find((h) => !/(^|\/)(tests?|__tests__)\//.test(h.file)) ?? hits[0];
    return findings(`one key variable (${name}) for every environment`, [
      warn(
        at(
          first,
          `${name} is the only key variable: confirm each environment sets a different key, or name them per environment`,
        ),
      ),
    ]);
  }
  return manual(
    'confirm dev, staging and production each use their own key',
    [...vars.values()].map((hs) => at(hs[0], hs[0].groups?.[0] ?? '')),
  );
};
