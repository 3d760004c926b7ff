/**
 * Printing secrets without printing them. Everything Gantry shows a human
 * (`gantry config check`, start-up logs, config errors) goes through here.
 */

/** What a present secret value is shown as: fixed, so it reveals neither content nor length. */
export const MASK = '********';

/** Matches an Anthropic API key (or anything shaped like the start of one). */
const ANTHROPIC_KEY = /sk-ant-[A-Za-z0-9_-]*/g;

/**
 * A secret value for display: `********` when there is one, `(missing)` when
 * there is none. Nothing of the value, not even its length, is shown.
 *
 * @example mask(process.env.ANTHROPIC_API_KEY) // '********'
 */
export function mask(value: string | undefined | null): string {
  return value ? MASK : '(missing)';
}

/** True when the text contains something shaped like an Anthropic API key (`sk-ant-…`). */
export function looksLikeAnthropicKey(text: string): boolean {
  return text.includes('sk-ant-');
}

/** The text with every `sk-ant-…` run replaced by `sk-ant-********`. */
export function redactAnthropicKeys(text: string): string {
  return text.replace(ANTHROPIC_KEY, `sk-ant-${MASK}`);
}

/**
 * A secret reference with whether it currently resolves, for display:
 * `env:ANTHROPIC_API_KEY (set)`, `file:/run/secrets/k (missing: file not found)`.
 * The reference is config data and shown as is; the value never is.
 */
export function describeSecret(spec: string, value: string | undefined, problem?: string): string {
  if (value) return `${spec} (set)`;
  return problem ? `${spec} (missing: ${problem})` : `${spec} (missing)`;
}
