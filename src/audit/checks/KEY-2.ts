/**
 * KEY-2: keys live in a secret manager, never in committed files. A
 * real-looking `sk-ant-` key anywhere fails (example files included); a
 * committed env file that is not an example and gives a key variable a value
 * fails; a client given a real-looking literal key fails. Placeholders pass.
 */
import { readOption } from '../clients/site.ts';
import type { Finding } from '../result.ts';
import { exampleEnvFile, placeholderValue, realLookingKey } from './keys.ts';
import { at, type Evaluator, fail, findings, ok } from './util.ts';

export const evaluate: Evaluator = (ctx) => {
  const list: Finding[] = [];
  const seen = new Set<string>();
  for (const h of ctx.scan.byRule('api-key')) {
    const token = h.groups?.[0] ?? '';
    if (!realLookingKey(token) || seen.has(`${h.file}:${h.line}`)) continue;
    seen.add(`${h.file}:${h.line}`);
    list.push(fail(at(h, 'an Anthropic API key in a tracked file')));
  }
  for (const h of ctx.scan.byRule('env-file-key')) {
    if (seen.has(`${h.file}:${h.line}`) || exampleEnvFile(h.file)) continue;
    const value = h.groups?.[2] ?? '';
    if (placeholderValue(value)) continue;
    seen.add(`${h.file}:${h.line}`);
    list.push(fail(at(h, `${h.groups?.[1]} has a value in a committed env file`)));
  }
  for (const c of ctx.claude.sites) {
    if (c.kind !== 'client') continue;
    const k = readOption(ctx.ev, c, ['apiKey', 'api_key', 'anthropicApiKey', 'anthropic_api_key']);
    if (k.state !== 'set' || k.value.kind !== 'string' || !realLookingKey(k.value.value)) continue;
    // read from the environment: a committed env file holding it is reported on its own line
    if (/process\.env|import\.meta\.env|os\.environ|getenv|\benv\b/i.test(k.value.at.text)) continue;
    if (seen.has(`${k.value.at.file}:${k.value.at.line}`)) continue;
    list.push(
      fail({
        file: k.value.at.file,
        line: k.value.at.line,
        message: 'API key passed to the client as a literal',
      }),
    );
  }
  if (list.length > 0) return findings(`${list.length} key(s) in files`, list);
  return ok('no API keys in tracked files or client literals');
};
