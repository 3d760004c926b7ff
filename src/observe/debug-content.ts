/**
 * Opt-in debug content logging (`logging.debug_content: true`): one extra
 * `debug content` line per request with the request's `system` and
 * `messages` (and an error body Gantry holds), secrets masked, each part cut
 * at 8 KB. Off by default; when on, start-up logs a warning saying so.
 *
 * Streamed or relayed completions are never captured (that would mean
 * buffering them); only what the Exchange already holds is logged.
 *
 * Masked: Anthropic keys (`sk-ant-…`, via src/config/mask.ts), Gantry virtual
 * keys (`gk_…`), bearer tokens, AWS access key ids, GitHub and Slack tokens,
 * JWTs, PEM private keys, and `password` / `secret` / `api_key` / `token`
 * assignments.
 */
import type { Logger } from 'pino';
import { MASK, redactAnthropicKeys } from '../config/mask.ts';
import type { Exchange } from '../pipeline/exchange.ts';

const PATTERNS: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, `[private key ${MASK}]`],
  [/\bgk_[A-Za-z0-9_-]{8,}/g, `gk_${MASK}`],
  [/\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, `$1${MASK}`],
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, `$1${MASK}`],
  [/\b(gh[pousr]_)[A-Za-z0-9]{20,}/g, `$1${MASK}`],
  [/\b(xox[abprs]-)[A-Za-z0-9-]{10,}/g, `$1${MASK}`],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, `jwt-${MASK}`],
  [
    /\b((?:api[_-]?key|secret|password|passwd|token|access[_-]?key)["']?\s*[:=]\s*["']?)[^\s"',;]{4,}/gi,
    `$1${MASK}`,
  ],
];

const LIMIT = 8 * 1024;
// Keys are `system_json` / `messages_json`: the logger's redaction paths
// (src/observe/log.ts) blank any `system` or `messages` key, as they should.

/** The text with every secret-shaped run masked. */
export function maskSecrets(text: string): string {
  let out = redactAnthropicKeys(text);
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

const cut = (text: string): string => (text.length > LIMIT ? `${text.slice(0, LIMIT)}…[cut]` : text);

/** The content part of a debug line, masked; undefined when there is nothing to show. */
function debugContent(ex: Exchange): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const body = ex.body;
  if (body?.system !== undefined) out.system_json = cut(maskSecrets(JSON.stringify(body.system)));
  if (body?.messages !== undefined) out.messages_json = cut(maskSecrets(JSON.stringify(body.messages)));
  const res = ex.response?.body;
  if (Buffer.isBuffer(res) && ex.response!.status >= 400)
    out.error_body = cut(maskSecrets(res.toString('utf8')));
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The per-request hook of debug mode; logs the loud start-up warning once. */
export function openDebugContent(logger: Logger): (ex: Exchange) => void {
  logger.warn(
    { logging: { debug_content: true } },
    'DEBUG CONTENT LOGGING IS ON: prompts are written to the log (secrets masked). Turn logging.debug_content off in production.',
  );
  return (ex) => {
    const content = debugContent(ex);
    if (content) logger.info({ req_id: ex.id, debug_content: content }, 'debug content');
  };
}
