/**
 * Who a request is for (the customer), per client, and Claude Code's
 * attribution headers.
 *
 * A client's `customer:` config picks one source, compiled once into a
 * resolver (`customerResolver`), so a request pays only for the source it uses:
 *
 * | `source`   | the customer is                                                              |
 * |------------|------------------------------------------------------------------------------|
 * | `auto`     | (default) the `x-gantry-customer` header, else `metadata.user_id`, read as below |
 * | `header`   | the value of `header` (default `x-gantry-customer`)                          |
 * | `metadata` | `metadata.user_id`, read as below; with `field`, that field of its JSON        |
 * | `key`      | the client itself (one virtual key per person: the client name)              |
 *
 * Claude Code puts a JSON string in `metadata.user_id`:
 * `{"device_id":"…","account_uuid":"…","session_id":"…"}`. Taken whole, every
 * session would be its own customer. `metadata.user_id` is therefore read as:
 * the named `field` when one is configured; else, for Claude Code's JSON, its
 * `account_uuid` (the person's Anthropic account), or `device_id` when the
 * account is empty (API-key logins) — never `session_id`; else the string as
 * is. Values are trimmed to 256 characters; an empty value is no customer.
 *
 * @example
 *   const resolve = customerResolver({ source: 'metadata', field: 'device_id' }, 'claude-code');
 *   resolve(ex.headers, ex.body); // '26d6…900b'
 */
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { expected, mapping } from '../config/fields.ts';

export const CUSTOMER_MAX = 256;
const DEFAULT_CUSTOMER_HEADER = 'x-gantry-customer';
const CUSTOMER_SOURCES = ['auto', 'header', 'metadata', 'key'] as const;
export type CustomerSourceKind = (typeof CUSTOMER_SOURCES)[number];

/** A client's resolved `customer:` section. */
export interface CustomerSource {
  source: CustomerSourceKind;
  /** Header name (lower case) for `header`; `auto` reads `x-gantry-customer`. */
  header: string;
  /** A field of the JSON in `metadata.user_id` (`metadata`); absent: the rules above. */
  field?: string;
}

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/** `clients[].customer` in gantry.yaml. */
export const customerSchema = mapping({
  source: z.enum(CUSTOMER_SOURCES, expected(`one of ${CUSTOMER_SOURCES.join(', ')}`)).default('auto'),
  header: z
    .string(expected('an HTTP header name'))
    .transform((h) => h.toLowerCase())
    .refine((h) => HEADER_NAME.test(h), { error: 'expected an HTTP header name' })
    .default(DEFAULT_CUSTOMER_HEADER),
  field: z
    .string(expected('a field name of the JSON in metadata.user_id'))
    .min(1, { error: 'expected a field name of the JSON in metadata.user_id' })
    .optional(),
});

/** The resolved form of a parsed `customer:` section. */
export function resolveCustomerSource(raw: z.output<typeof customerSchema>): CustomerSource {
  return raw.field === undefined
    ? { source: raw.source, header: raw.header }
    : { source: raw.source, header: raw.header, field: raw.field };
}

/** Resolves the customer of one request; `undefined` when there is none. */
export type CustomerResolver = (
  headers: IncomingHttpHeaders,
  body: Record<string, unknown> | undefined,
) => string | undefined;

/** The default: `x-gantry-customer`, else `metadata.user_id` (Claude Code's JSON recognised). */
const DEFAULT_CUSTOMER_SOURCE: CustomerSource = Object.freeze({
  source: 'auto',
  header: DEFAULT_CUSTOMER_HEADER,
});

/**
 * Compiles a client's customer source into a resolver (done once per client,
 * at start-up and on reload).
 */
export function customerResolver(config: CustomerSource | undefined, clientName: string): CustomerResolver {
  const c = config ?? DEFAULT_CUSTOMER_SOURCE;
  switch (c.source) {
    case 'key': {
      const customer = bounded(clientName);
      return () => customer;
    }
    case 'header': {
      const name = c.header;
      return (headers) => headerValue(headers, name);
    }
    case 'metadata': {
      const field = c.field;
      return (_headers, body) => userIdCustomer(body, field);
    }
    default:
      return (headers, body) =>
        headerValue(headers, DEFAULT_CUSTOMER_HEADER) ?? userIdCustomer(body, undefined);
  }
}

function bounded(value: string): string | undefined {
  const v = value.trim();
  return v.length === 0 ? undefined : v.slice(0, CUSTOMER_MAX);
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? bounded(s) : undefined;
}

/** The customer `metadata.user_id` names (see the module comment). */
function userIdCustomer(
  body: Record<string, unknown> | undefined,
  field: string | undefined,
): string | undefined {
  const metadata = body?.metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const userId = (metadata as { user_id?: unknown }).user_id;
  if (typeof userId !== 'string') return undefined;
  const json = userId.startsWith('{') ? parseObject(userId) : undefined;
  if (field !== undefined) {
    const v = json?.[field];
    return typeof v === 'string' ? bounded(v) : typeof v === 'number' ? String(v) : undefined;
  }
  if (json !== undefined && isClaudeCode(json)) {
    return (
      (typeof json.account_uuid === 'string' ? bounded(json.account_uuid) : undefined) ??
      (typeof json.device_id === 'string' ? bounded(json.device_id) : undefined)
    );
  }
  return bounded(userId);
}

/** Claude Code's `metadata.user_id` JSON: at least one of its identity fields, and its session id. */
function isClaudeCode(json: Record<string, unknown>): boolean {
  return 'session_id' in json && ('device_id' in json || 'account_uuid' in json);
}

/** `user_id` is client data and may be anything: only a JSON object of at most 4 KiB is read. */
function parseObject(s: string): Record<string, unknown> | undefined {
  if (s.length > 4096) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Claude Code's attribution headers, as the ledger row and the log line keep them. */
const ATTRIBUTION_HEADERS = {
  sessionId: 'x-claude-code-session-id',
  agentId: 'x-claude-code-agent-id',
} as const;

/** Longest value kept from an attribution header. */
const ATTRIBUTION_MAX = 128;

/** Claude Code's session and agent ids of a request (null when absent). */
export function attributionOf(headers: IncomingHttpHeaders): {
  sessionId: string | null;
  agentId: string | null;
} {
  return {
    sessionId: attribution(headers, ATTRIBUTION_HEADERS.sessionId),
    agentId: attribution(headers, ATTRIBUTION_HEADERS.agentId),
  };
}

function attribution(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.length > 0 ? s.slice(0, ATTRIBUTION_MAX) : null;
}
