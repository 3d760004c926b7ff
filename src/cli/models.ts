/**
 * `gantry models`: the model catalog Gantry prices with (src/anthropic/models.ts),
 * as a table or JSON, with its source and date.
 */
import { CATALOG_SOURCE, listModels, type ModelEntry, statusOf } from '../anthropic/models.ts';
import { renderTable } from './table.ts';

export interface ModelsOptions {
  json?: boolean;
  /** Include retired models. */
  all?: boolean;
  /** The date lifecycles are judged on (default: now). */
  now?: Date;
}

const usd = (v: number | null) => (v === null ? '?' : `$${v}`);
const tokens = (v: number | null) =>
  v === null ? '?' : v >= 1_000_000 ? `${v / 1_000_000}M` : `${v / 1000}K`;

export function modelsText(opts: ModelsOptions = {}): string {
  const now = opts.now ?? new Date();
  const models = listModels(opts.all ? {} : { lifecycle: ['active', 'legacy', 'deprecated'], now });
  if (opts.json) {
    const out = models.map((m) => ({ ...m, lifecycle: statusOf(m, now) }));
    return JSON.stringify(
      { source: CATALOG_SOURCE.source, as_of: CATALOG_SOURCE.asOf, models: out },
      null,
      2,
    );
  }
  const header = [
    'model',
    'aliases',
    'lifecycle',
    'context',
    'max out',
    'input',
    'write 5m',
    'write 1h',
    'read',
    'output',
    'min cache',
  ];
  const rows = models.map((m: ModelEntry) => [
    m.id,
    m.aliases.join(', '),
    lifecycleText(m, now),
    tokens(m.context_window),
    tokens(m.max_output),
    usd(m.prices.input),
    usd(m.prices.cache_write_5m),
    usd(m.prices.cache_write_1h),
    usd(m.prices.cache_read),
    usd(m.prices.output),
    m.min_cacheable_tokens === null ? '?' : String(m.min_cacheable_tokens),
  ]);
  const right = [false, false, false, true, true, true, true, true, true, true, true];
  const bands = models
    .filter((m) => m.long_prompt)
    .map((m) => {
      const b = m.long_prompt!;
      const p = b.prices;
      return `${m.id} above ${b.above_prompt_tokens} prompt tokens: input ${usd(p.input)}, write 5m ${usd(p.cache_write_5m)}, write 1h ${usd(p.cache_write_1h)}, read ${usd(p.cache_read)}, output ${usd(p.output)}.`;
    });
  return [
    renderTable(header, rows, right),
    '',
    ...bands,
    'Prices: USD per million tokens; Batch API 50% off; inference_geo "us" 1.1x on Claude 4.6+; "?" = unconfirmed.',
    `Source: ${CATALOG_SOURCE.source}, as of ${CATALOG_SOURCE.asOf}.`,
  ].join('\n');
}

/** The stage on `now`, with the retirement date (future: "retires", past: "retired on"). */
function lifecycleText(m: ModelEntry, now: Date): string {
  const stage = statusOf(m, now);
  if (!m.retires_at) return stage;
  const day = m.retires_at.slice(0, 10);
  return stage === 'retired' ? `retired (on ${day})` : `${stage} (retires ${day})`;
}

export async function run(opts: ModelsOptions): Promise<void> {
  process.stdout.write(`${modelsText(opts)}\n`);
}
