/**
 * The operator's key for admin routes. Same rules as client keys: only a
 * SHA-256 (or a reference) in config, constant-time comparison of digests.
 * With no admin key configured, admin routes answer 404 as if they did not
 * exist (fail closed).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { keyDigest } from '../config/keys.ts';
import { openSecret, type SecretHandle } from '../config/secrets.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { GantryError } from '../errors.ts';
import { credentialOf } from '../pipeline/authenticate.ts';

export interface AdminAuth {
  /** Throws a GantryError unless the request carries the admin key. */
  check(headers: IncomingHttpHeaders, method: string, url: string): void;
  close(): void;
}

export async function openAdminAuth(config: ResolvedConfig, logger: Logger): Promise<AdminAuth> {
  let handle: SecretHandle | undefined;
  if (config.admin.key) {
    handle = openSecret(config.admin.key, {
      execRefreshMs: config.secrets.execRefreshMs,
      execTimeoutMs: config.secrets.execTimeoutMs,
      logger,
    });
    await handle.ready;
  }
  const fixed = config.admin.keySha256 ? Buffer.from(config.admin.keySha256, 'hex') : undefined;
  return {
    check(headers, method, url) {
      const expected = fixed ?? (handle?.value() ? keyDigest(handle.value()!) : undefined);
      if (!expected) {
        throw new GantryError('route_not_found', `No route ${method} ${url.split('?')[0]} on this gateway.`);
      }
      const credential = credentialOf(headers);
      if (credential === undefined) {
        throw new GantryError(
          'missing_api_key',
          'This admin route needs the admin key (`admin:` in gantry.yaml).',
        );
      }
      if (!timingSafeEqual(keyDigest(credential), expected)) {
        throw new GantryError('invalid_api_key', 'Invalid admin key.');
      }
    },
    close() {
      handle?.close();
    },
  };
}
