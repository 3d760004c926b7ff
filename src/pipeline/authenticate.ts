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
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { keyDigest } from '../config/keys.ts';
import type { ClientConfig } from '../config/types.ts';
import { GantryError } from '../errors.ts';
import { type CustomerResolver, customerResolver } from './customer.ts';
import type { ExchangeClient } from './exchange.ts';
import type { Stage, StageContext } from './stage.ts';

const LOCAL_CLIENT = 'default';

interface Entry {
  digest: Buffer;
  client: ExchangeClient;
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

const defaultCustomer = customerResolver(undefined, LOCAL_CLIENT);

/**
 * A wrong or missing credential does not get better by retrying: clients that read
 * `x-should-retry` (the official SDKs, Claude Code) stop at once and ask for a key.
 */
const NO_RETRY = Object.freeze({ 'x-should-retry': 'false' }) as Record<string, string>;

/** The 401 message of a local-mode gateway that has no upstream key at all. */
function localKeyMissing(config: StageContext['config']): string {
  // Only an environment variable's name is shown (a file path or a command is the operator's business).
  const spec = config.environments[LOCAL_CLIENT]?.upstreamKey;
  const where = spec?.startsWith('env:') ? ` (${spec.slice(4)} is not set)` : '';
  return (
    `This gateway has no Anthropic API key${where}: it is in local mode, where it forwards with that key and ` +
    'accepts only requests that carry the same key. Set it where the gateway runs and restart it, ' +
    'or try it offline with `npx gantry serve --simulate`, or configure clients with virtual keys (docs/gateway.md).'
  );
}

export function authenticate(ctx: StageContext): Stage {
  const { config, secrets, logger } = ctx;
  let index = new Map<string, Entry>();
  /**
   * The credential last accepted on each connection, with its entry: a
   * keep-alive client sends the same key on every request, and comparing it
   * with the one this connection already proved costs nothing next to a
   * SHA-256. Only the client's own connection can be compared against; the
   * entry goes with the connection; a re-index (key rotation) starts afresh.
   */
  let proven = new WeakMap<object, { credential: string; entry: Entry }>();
  // Each client's customer source, compiled once (src/pipeline/customer.ts); local mode uses the default.
  const customers = new Map<string, CustomerResolver>(
    config.clients.map((c) => [c.name, customerResolver(c.customer, c.name)]),
  );

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
      if (key) add(keyDigest(key), { name: LOCAL_CLIENT, environment: LOCAL_CLIENT });
    }
    for (const client of config.clients) {
      if (client.keySha256) add(Buffer.from(client.keySha256.toLowerCase(), 'hex'), client);
      else if (client.key) {
        const key = secrets.value(client.key);
        if (key) add(keyDigest(key), client);
        else
          logger.warn(
            { client: client.name },
            'client key reference does not resolve; client cannot authenticate',
          );
      }
    }
    index = next;
    proven = new WeakMap();
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
      const local = config.clients.length === 0;
      // Local mode with no upstream key: nothing can authenticate; say what the gateway lacks.
      if (local && index.size === 0)
        throw new GantryError('invalid_api_key', localKeyMissing(config), { headers: NO_RETRY });
      const credential = credentialOf(ex.headers);
      if (credential === undefined) {
        throw new GantryError(
          'missing_api_key',
          local
            ? 'No API key: this gateway is in local mode; send the Anthropic API key it was started with in the `x-api-key` header (or as `Authorization: Bearer <key>`).'
            : 'No API key: send your Gantry virtual key in the `x-api-key` header or as `Authorization: Bearer <key>`.',
          { headers: NO_RETRY },
        );
      }
      const known = ex.connection ? proven.get(ex.connection) : undefined;
      if (known !== undefined && known.credential === credential) {
        ex.client = known.entry.client;
        return;
      }
      const digest = keyDigest(credential);
      const entry = index.get(digest.toString('hex'));
      if (entry === undefined || !timingSafeEqual(entry.digest, digest)) {
        throw new GantryError(
          'invalid_api_key',
          local
            ? 'Invalid API key: this gateway is in local mode and accepts only the Anthropic API key it was started with (the upstream key of environment `default`).'
            : 'Invalid API key: it matches no client configured on this gateway.',
          { headers: NO_RETRY },
        );
      }
      ex.client = entry.client;
      if (ex.connection) proven.set(ex.connection, { credential, entry });
    },
    // The customer may come from the body (`metadata.user_id`), so it is read once the body is.
    request(ex) {
      ex.customer = (customers.get(ex.client?.name ?? '') ?? defaultCustomer)(ex.headers, ex.body);
    },
  };
}
