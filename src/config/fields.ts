/**
 * Field helpers shared by every section schema of gantry.yaml: sizes,
 * milliseconds, secret references, URLs and the "required / expected X"
 * message every field uses. Section schemas (here and in each capability's
 * config.ts) build on these, so a field type reads the same everywhere.
 */
import { z } from 'zod';
import { looksLikeAnthropicKey } from './mask.ts';
import { parseSecretRef, SecretRefError } from './refs.ts';
import type { LoggingConfig } from './types.ts';

export const LOG_LEVELS = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
] as const satisfies readonly LoggingConfig['level'][];

/** The environment used when the config declares none, and by local mode. */
export const DEFAULT_ENVIRONMENT = 'default';
export const DEFAULT_UPSTREAM_KEY = 'env:ANTHROPIC_API_KEY';

/** Names of clients and environments: they appear in logs, metrics and the ledger. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** True when `name` is acceptable as a client or environment name. */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}
export const NAME_RULE = 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit';
export const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/** Node timers overflow past 2^31-1 ms and fire at once; refuse such values. */
export const MAX_TIMER_MS = 2_147_483_647;

export const UPSTREAM_KEY_EXAMPLES =
  'put it in a secret manager or an environment variable and write "env:ANTHROPIC_API_KEY", ' +
  '"file:/run/secrets/anthropic" or "exec:vault kv get -field=key secret/anthropic"';
export const CLIENT_KEY_EXAMPLES =
  'write only its hash as key_sha256 (printed by "gantry keys create"), or keep the key in a secret manager ' +
  'or an environment variable and write "env:GANTRY_KEY_CHECKOUT", "file:/run/secrets/gantry-checkout" ' +
  'or "exec:vault kv get -field=key secret/gantry/checkout"';

export type ErrorFn = (issue: { input?: unknown }) => string;

/** `required` when the key is absent, else `expected <what>`. */
export function expected(what: string): { error: ErrorFn } {
  return { error: (issue) => (issue.input === undefined ? 'required' : `expected ${what}`) };
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/;

/**
 * Bytes from a size: an integer (bytes) or a string like `32mb`, `16kb`,
 * `1.5mb` (units are powers of 1024: b, kb/kib/k, mb/mib/m, gb/gib/g).
 * Returns `undefined` for anything else.
 */
export function parseSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  const m = SIZE.exec(value.trim().toLowerCase());
  const unit = m ? SIZE_UNITS[m[2]] : undefined;
  if (!m || unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** A size for display: `32mb` when it is a whole number of mb, else `16kb`, else bytes. */
export function formatSize(bytes: number): string | number {
  if (bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3}gb`;
  if (bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2}mb`;
  if (bytes % 1024 === 0) return `${bytes / 1024}kb`;
  return bytes;
}

export function size(defaultBytes: number) {
  return z
    .union([z.number(), z.string()], expected('a size: bytes, or a string like "32mb" or "16kb"'))
    .transform((value, ctx) => {
      const bytes = parseSize(value);
      if (bytes === undefined) {
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: 'expected a positive size: bytes, or a string like "32mb" or "16kb" (units b, kb, mb, gb)',
        });
        return z.NEVER;
      }
      return bytes;
    })
    .default(defaultBytes);
}

export function milliseconds(defaultMs: number) {
  return z
    .int(expected('a whole number of milliseconds'))
    .min(1, { error: 'expected a positive number of milliseconds' })
    .max(MAX_TIMER_MS, { error: `expected at most ${MAX_TIMER_MS} milliseconds (about 24.8 days)` })
    .default(defaultMs);
}

/**
 * Why `value` is not an acceptable secret reference, or `undefined` when it is.
 * Never quotes the value: a mistake here is usually a pasted key.
 */
export function secretRefProblem(
  value: string,
  examples: string = UPSTREAM_KEY_EXAMPLES,
): string | undefined {
  const literal = `a literal key is not allowed here; ${examples}`;
  if (looksLikeAnthropicKey(value)) return literal;
  const scheme = /^([A-Za-z]+):/.exec(value)?.[1];
  if (scheme === undefined) return literal;
  if (['env', 'file', 'exec'].includes(scheme.toLowerCase()) && scheme !== scheme.toLowerCase()) {
    return `secret reference kinds are lowercase: env:, file: or exec:`;
  }
  if (!['env', 'file', 'exec'].includes(scheme)) {
    return `expected a secret reference (env:NAME, file:/path or exec:command args); ${literal}`;
  }
  try {
    parseSecretRef(value);
    return undefined;
  } catch (err) {
    if (err instanceof SecretRefError) return err.message;
    throw err;
  }
}

export function secretRef(examples: string) {
  return z
    .string(expected('a secret reference: env:NAME, file:/path or exec:command args'))
    .superRefine((value, ctx) => {
      const problem = secretRefProblem(value, examples);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

export function mapping<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, expected('a mapping (key: value pairs)'));
}

export function baseUrl() {
  return z.string(expected('an http(s) URL')).transform((value, ctx) => {
    const fail = (message: string) => {
      ctx.issues.push({ code: 'custom', input: value, message });
      return z.NEVER;
    };
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail('expected an absolute http(s) URL, e.g. https://api.anthropic.com');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail('expected an http: or https: URL');
    if (url.username || url.password) {
      return fail(
        'must not contain credentials (user:password@); upstream keys belong in environments.<name>.upstream_key',
      );
    }
    if (url.search || value.includes('?')) return fail('must not contain a query string');
    if (url.hash || value.includes('#')) return fail('must not contain a fragment (#…)');
    return url.origin + url.pathname.replace(/\/+$/, '');
  });
}
