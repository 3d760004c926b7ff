/**
 * authenticate: virtual key -> client (feature, environment) and customer.
 *
 * The client's credential (`x-api-key`, or `Authorization: Bearer`) is hashed
 * with SHA-256 and looked up by hash; the match is confirmed with a
 * constant-time comparison of the two digests, so neither the lookup nor the
 * comparison reveals anything about a key. The credential itself is never
 * stored, logged or forwarded.
 *
 * Local mode (no clients configured): one implicit client `default` whose key
 * is the upstream key of environment `default`, so an app that already sends
 * its Anthropic key works unchanged, and nobody without that key can use the
 * gateway. See docs/gateway.md.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ClientConfig } from '../config/types.ts';
import { GantryError } from '../errors.ts';
import type { Exchange, ExchangeClient } from './exchange.ts';
import type { Stage, StageContext } from './stage.ts';

export const LOCAL_CLIENT = 'default';

interface Entry {
  digest: Buffer;
  client: ExchangeClient;
}

/** SHA-256 digest of a credential (the form keys are kept and compared in). */
export function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/** The credential a client sent: `x-api-key` first, else a Bearer token. */
export function credentialOf(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey.trim();
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
    const token = auth.slice(7).trim();
    if (token.length > 0) return token;
  }
  return undefined;
}

const CUSTOMER_MAX = 256;

/** Customer id: `x-gantry-customer` header, else `metadata.user_id` of the body. */
export function customerOf(ex: Exchange): string | undefined {
  const header = ex.headers['x-gantry-customer'];
  if (typeof header === 'string' && header.length > 0) return header.slice(0, CUSTOMER_MAX);
  const metadata = ex.body?.metadata as { user_id?: unknown } | undefined;
  if (metadata && typeof metadata.user_id === 'string' && metadata.user_id.length > 0) {
    return metadata.user_id.slice(0, CUSTOMER_MAX);
  }
  return undefined;
}

export function authenticate(ctx: StageContext): Stage {
  const { config, secrets, logger } = ctx;
  let index = new Map<string, Entry>();

  // Clients whose key is a reference are re-indexed when the reference rotates.
  const build = (): void => {
    const next = new Map<string, Entry>();
    const add = (digest: Buffer, client: ClientConfig | ExchangeClient) => {
      next.set(digest.toString('hex'), {
        digest,
        client: Object.freeze({ name: client.name, environment: client.environment }),
      });
    };
    if (config.clients.length === 0) {
      const env = config.environments[LOCAL_CLIENT];
      const key = env ? secrets.value(env.upstreamKey) : undefined;
      if (key) add(sha256(key), { name: LOCAL_CLIENT, environment: LOCAL_CLIENT });
    }
    for (const client of config.clients) {
      if (client.keySha256) add(Buffer.from(client.keySha256.toLowerCase(), 'hex'), client);
      else if (client.key) {
        const key = secrets.value(client.key);
        if (key) add(sha256(key), client);
        else
          logger.warn(
            { client: client.name },
            'client key reference does not resolve; client cannot authenticate',
          );
      }
    }
    index = next;
  };
  build();
  if (config.clients.length === 0) {
    const env = config.environments[LOCAL_CLIENT];
    if (env) secrets.onChange(env.upstreamKey, build);
  }
  for (const client of config.clients) if (client.key) secrets.onChange(client.key, build);

  return {
    name: 'authenticate',
    // From the headers alone, before the body is read: an unauthenticated request never costs a parse.
    head(ex) {
      const credential = credentialOf(ex.headers);
      if (credential === undefined) {
        throw new GantryError(
          'missing_api_key',
          'No API key: send your Gantry virtual key in the `x-api-key` header or as `Authorization: Bearer <key>`.',
        );
      }
      const digest = sha256(credential);
      const entry = index.get(digest.toString('hex'));
      if (entry === undefined || !timingSafeEqual(entry.digest, digest)) {
        throw new GantryError(
          'invalid_api_key',
          config.clients.length === 0
            ? 'Invalid API key: in local mode the gateway accepts only the upstream key of environment `default`.'
            : 'Invalid API key: it matches no client configured on this gateway.',
        );
      }
      ex.client = entry.client;
    },
    // The customer may come from the body (`metadata.user_id`), so it is read once the body is.
    request(ex) {
      ex.customer = customerOf(ex);
    },
  };
}
