/**
 * Telling a real Anthropic credential from a placeholder: documented
 * placeholder shapes (`sk-ant-xxx`, `your_key_here`, `<key>`, `CHANGE_ME`,
 * `sk-ant-api03-your-api-key-here`) and low-entropy bodies are not keys; a
 * long, high-entropy body is, wherever it is (example files included).
 */

const PLACEHOLDER =
  /your|xxx|example|placeholder|change_?me|changeme|dummy|fake|sample|here|redacted|replace|insert|todo|\.\.\.|\*{3,}|<[^>]*>|\$\{|\{\{|api[-_]?key|secret|test|demo|foo|bar/i;

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** An `sk-ant-…` token that looks like a real credential (not a placeholder). */
export function realLookingKey(token: string): boolean {
  const m = /^sk-ant-(?:[a-z]{3,6}\d{2}-)?(.*)$/.exec(token);
  if (!m) return false;
  const body = m[1];
  if (body.length < 32) return false;
  if (PLACEHOLDER.test(body)) return false;
  if (!/[A-Z]/.test(body) || !/[a-z]/.test(body) || !/\d/.test(body)) return false;
  return entropy(body) >= 4;
}

/** A value given to a key variable in an env file that is a placeholder rather than a key. */
export function placeholderValue(value: string): boolean {
  const v = value.trim();
  if (v === '' || v.startsWith('sk-ant-')) return v === '' || !realLookingKey(v);
  if (PLACEHOLDER.test(v) || /^(.)\1+$/.test(v) || /^(none|null|undefined|empty|tbd|na|n\/a|-+)$/i.test(v))
    return true;
  return v.length < 20 || entropy(v) < 3.5;
}

/** Env files that document variables rather than configure a deployment. */
export function exampleEnvFile(file: string): boolean {
  return /\.(example|sample|template|dist|defaults?|tmpl|tpl)$|\.example\.|example\.env|(^|\/)env\.example/i.test(
    file,
  );
}
